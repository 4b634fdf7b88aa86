//! Access keys and the AWS shared configuration files, as a client finds them.
//!
//! [`load`] follows the chain the AWS CLI follows, so our commands pick up the same keys
//! the `aws` command would: environment variables, then the shared credentials file,
//! then the config file. [`render_profile`] writes a section a user can paste into
//! `~/.aws/credentials`, and [`generate`] makes new AWS-shaped keys for the server.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use rand::RngCore;

/// An access key, its secret and, for temporary credentials, a session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The public half, e.g. `AKIAIOSFODNN7EXAMPLE`.
    pub access_key_id: String,
    /// The secret half, 40 characters for AWS-issued keys.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    // Secrets never reach logs, so Debug shows only the key id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Why no credentials could be loaded; the texts are botocore's.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// Nothing in the chain held credentials.
    #[error("Unable to locate credentials")]
    NotFound,
    /// A profile other than `default` was asked for and neither file has it.
    #[error("The config profile ({0}) could not be found")]
    ProfileNotFound(String),
    /// A source had an access key id without its secret, or the other way round.
    #[error("Partial credentials found in {provider}, missing: {missing}")]
    Partial {
        /// `env`, `shared-credentials-file` or `config-file`.
        provider: &'static str,
        /// The setting that is missing.
        missing: &'static str,
    },
    /// A credentials or config file exists but could not be read.
    #[error("could not read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// One section of `~/.aws/credentials`: `[profile]` and the keys, each on its own line.
pub fn render_profile(profile: &str, creds: &Credentials) -> String {
    let mut out = format!(
        "[{profile}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        creds.access_key_id, creds.secret_access_key
    );
    if let Some(token) = &creds.session_token {
        out.push_str(&format!("aws_session_token = {token}\n"));
    }
    out
}

/// Loads credentials the way the AWS CLI does: `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`; then the shared credentials file
/// (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`); then the config file
/// (`AWS_CONFIG_FILE`, else `~/.aws/config`). The profile is `profile`, else
/// `AWS_PROFILE`, else `default`. As in the CLI, an explicit `profile` skips the
/// environment variables.
pub fn load(profile: Option<&str>) -> Result<Credentials, CredentialsError> {
    load_with(profile, &process_env)
}

/// Like [`load`], but when the standard chain finds nothing, reads `fallback` (a shared
/// credentials file, such as the one `trailwatch serve` writes into its data directory).
pub fn load_or_file(
    profile: Option<&str>,
    fallback: &std::path::Path,
) -> Result<Credentials, CredentialsError> {
    match load(profile) {
        Err(CredentialsError::NotFound) if fallback.exists() => {
            let path = fallback.to_string_lossy().into_owned();
            let env = move |name: &str| match name {
                "AWS_SHARED_CREDENTIALS_FILE" => Some(path.clone()),
                "AWS_CONFIG_FILE" => Some(String::new()),
                _ => None,
            };
            load_with(profile, &env)
        }
        other => other,
    }
}

/// The region a client should use: `AWS_REGION`, `AWS_DEFAULT_REGION`, then `region` of
/// the profile (chosen as in [`load`]) in the config file. An unreadable config file
/// counts as having none.
pub fn default_region(profile: Option<&str>) -> Option<String> {
    default_region_with(profile, &process_env)
}

/// New AWS-shaped credentials from a CSPRNG seeded by the operating system: an access
/// key id of `AKIA` and 16 base32 characters, and a secret of 40 base64-alphabet
/// characters.
pub fn generate() -> Credentials {
    const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = [0u8; 56];
    rand::rng().fill_bytes(&mut bytes);
    let (id_bytes, secret_bytes) = bytes.split_at(16);
    // Both alphabets have a power-of-two size, so masking keeps every symbol equally likely.
    let id: String = id_bytes
        .iter()
        .map(|b| char::from(BASE32[usize::from(b & 31)]))
        .collect();
    Credentials {
        access_key_id: format!("AKIA{id}"),
        secret_access_key: secret_bytes
            .iter()
            .map(|b| char::from(BASE64[usize::from(b & 63)]))
            .collect(),
        session_token: None,
    }
}

/// How the chain reads environment variables; tests pass a map, not the process's.
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// An environment variable, with an empty value read as unset, as botocore reads it.
fn env_value(env: Env<'_>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.is_empty())
}

fn load_with(profile: Option<&str>, env: Env<'_>) -> Result<Credentials, CredentialsError> {
    if profile.is_none() {
        let id = env_value(env, "AWS_ACCESS_KEY_ID");
        let secret = env_value(env, "AWS_SECRET_ACCESS_KEY");
        match (id, secret) {
            (Some(access_key_id), Some(secret_access_key)) => {
                return Ok(Credentials {
                    access_key_id,
                    secret_access_key,
                    session_token: env_value(env, "AWS_SESSION_TOKEN"),
                });
            }
            (Some(_), None) => {
                return Err(CredentialsError::Partial {
                    provider: "env",
                    missing: "AWS_SECRET_ACCESS_KEY",
                });
            }
            (None, Some(_)) => {
                return Err(CredentialsError::Partial {
                    provider: "env",
                    missing: "AWS_ACCESS_KEY_ID",
                });
            }
            (None, None) => {}
        }
    }

    let name = profile_name(profile, env);
    let credentials_file = read_ini(file_path(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials"))?;
    let config_file = read_ini(file_path(env, "AWS_CONFIG_FILE", "config"))?;

    let from_credentials = credentials_file.get(&name);
    if let Some(creds) = from_credentials
        .map(|section| keys_of(section, "shared-credentials-file"))
        .transpose()?
        .flatten()
    {
        return Ok(creds);
    }
    let from_config = config_section(&config_file, &name);
    if let Some(creds) = from_config
        .map(|section| keys_of(section, "config-file"))
        .transpose()?
        .flatten()
    {
        return Ok(creds);
    }
    if from_credentials.is_none() && from_config.is_none() && name != "default" {
        return Err(CredentialsError::ProfileNotFound(name));
    }
    Err(CredentialsError::NotFound)
}

fn default_region_with(profile: Option<&str>, env: Env<'_>) -> Option<String> {
    env_value(env, "AWS_REGION")
        .or_else(|| env_value(env, "AWS_DEFAULT_REGION"))
        .or_else(|| {
            let config = read_ini(file_path(env, "AWS_CONFIG_FILE", "config")).ok()?;
            config_section(&config, &profile_name(profile, env))?
                .get("region")
                .filter(|r| !r.is_empty())
                .cloned()
        })
}

fn profile_name(profile: Option<&str>, env: Env<'_>) -> String {
    profile
        .map(str::to_string)
        .or_else(|| env_value(env, "AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_string())
}

/// The file named by `variable` (with `~` expanded), else `~/.aws/<name>`.
fn file_path(env: Env<'_>, variable: &str, name: &str) -> Option<PathBuf> {
    let home = || env_value(env, "HOME").or_else(|| env_value(env, "USERPROFILE"));
    match env_value(env, variable) {
        Some(path) => match path.strip_prefix("~/") {
            Some(rest) => home().map(|h| PathBuf::from(h).join(rest)),
            None => Some(PathBuf::from(path)),
        },
        None => home().map(|h| PathBuf::from(h).join(".aws").join(name)),
    }
}

type Section = BTreeMap<String, String>;
type Ini = BTreeMap<String, Section>;

/// A missing file reads as empty: having no credentials file is normal.
fn read_ini(path: Option<PathBuf>) -> Result<Ini, CredentialsError> {
    let Some(path) = path else {
        return Ok(Ini::new());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(parse_ini(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ini::new()),
        Err(source) => Err(CredentialsError::Io { path, source }),
    }
}

/// The config file names profiles `[profile NAME]`, except `default`, which may also be
/// plain `[default]`.
fn config_section<'i>(config: &'i Ini, profile: &str) -> Option<&'i Section> {
    config.get(&format!("profile {profile}")).or_else(|| {
        if profile == "default" {
            config.get("default")
        } else {
            None
        }
    })
}

/// The keys of one profile section: none when it has neither half.
fn keys_of(
    section: &Section,
    provider: &'static str,
) -> Result<Option<Credentials>, CredentialsError> {
    let value = |key: &str| section.get(key).filter(|v| !v.is_empty()).cloned();
    match (value("aws_access_key_id"), value("aws_secret_access_key")) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Some(Credentials {
            access_key_id,
            secret_access_key,
            session_token: value("aws_session_token"),
        })),
        (Some(_), None) => Err(CredentialsError::Partial {
            provider,
            missing: "aws_secret_access_key",
        }),
        (None, Some(_)) => Err(CredentialsError::Partial {
            provider,
            missing: "aws_access_key_id",
        }),
        (None, None) => Ok(None),
    }
}

/// Parses the AWS flavour of INI, forgivingly: `#` and `;` comments (whole-line, or
/// after whitespace), blank lines, spaces anywhere, `=` or `:` between key and value,
/// keys in any case (stored lower-case), repeated sections merged. Section names keep
/// their case, as the AWS CLI's do, with the space after `profile` normalized. Indented
/// lines under a key with an empty value (`s3 =`) are a nested block and are skipped.
fn parse_ini(text: &str) -> Ini {
    let mut ini = Ini::new();
    let mut current: Option<String> = None;
    let mut in_nested_block = false;
    for line in text.lines() {
        let trimmed = strip_comment(line).trim();
        if trimmed.is_empty() {
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        if indented && in_nested_block {
            continue;
        }
        in_nested_block = false;
        if let Some(rest) = trimmed.strip_prefix('[') {
            let name = rest.split(']').next().unwrap_or_default().trim();
            let name = match name.strip_prefix("profile") {
                Some(profile) if profile.starts_with([' ', '\t']) => {
                    format!("profile {}", profile.trim())
                }
                _ => name.to_string(),
            };
            ini.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        let Some(section) = current.as_ref().and_then(|name| ini.get_mut(name)) else {
            continue;
        };
        let Some(split) = trimmed.find(['=', ':']) else {
            continue;
        };
        let (key, value) = (trimmed[..split].trim(), trimmed[split + 1..].trim());
        if value.is_empty() {
            in_nested_block = true;
        }
        section.insert(key.to_ascii_lowercase(), value.to_string());
    }
    ini
}

/// `line` without a comment: one that starts the line, or `#`/`;` after whitespace.
fn strip_comment(line: &str) -> &str {
    let start = line.trim_start();
    if start.starts_with(['#', ';']) {
        return "";
    }
    match line
        .as_bytes()
        .windows(2)
        .position(|pair| pair[0].is_ascii_whitespace() && matches!(pair[1], b'#' | b';'))
    {
        Some(space) => &line[..space],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Fixture {
        dir: tempfile::TempDir,
        vars: HashMap<String, String>,
    }

    impl Fixture {
        /// A home directory holding the given `.aws/credentials` and `.aws/config`.
        fn new(credentials: Option<&str>, config: Option<&str>) -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let aws = dir.path().join(".aws");
            std::fs::create_dir(&aws).unwrap();
            if let Some(text) = credentials {
                std::fs::write(aws.join("credentials"), text).unwrap();
            }
            if let Some(text) = config {
                std::fs::write(aws.join("config"), text).unwrap();
            }
            let mut vars = HashMap::new();
            vars.insert("HOME".to_string(), dir.path().display().to_string());
            Fixture { dir, vars }
        }

        fn set(mut self, name: &str, value: &str) -> Fixture {
            self.vars.insert(name.to_string(), value.to_string());
            self
        }

        fn load(&self, profile: Option<&str>) -> Result<Credentials, CredentialsError> {
            load_with(profile, &|name| self.vars.get(name).cloned())
        }

        fn region(&self, profile: Option<&str>) -> Option<String> {
            default_region_with(profile, &|name| self.vars.get(name).cloned())
        }
    }

    fn creds(id: &str, secret: &str, token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: id.to_string(),
            secret_access_key: secret.to_string(),
            session_token: token.map(str::to_string),
        }
    }

    const CREDENTIALS: &str = "\
# a comment
; another comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = secretdefault

  [ prod ]   # trailing comment
AWS_Access_Key_ID=AKIDPROD   ; inline comment
aws_secret_access_key:secret/prod+key
aws_session_token = token==
";

    const CONFIG: &str = "\
[default]
region = eu-west-1

[profile prod]
region=us-west-2
s3 =
    max_concurrent_requests = 20
    region = nested-not-this

[profile   cfgonly]
aws_access_key_id = AKIDCFG
aws_secret_access_key = secretcfg
region = ap-south-1
";

    #[test]
    fn environment_comes_first() {
        let f = Fixture::new(Some(CREDENTIALS), None)
            .set("AWS_ACCESS_KEY_ID", "AKIDENV")
            .set("AWS_SECRET_ACCESS_KEY", "secretenv")
            .set("AWS_SESSION_TOKEN", "tok");
        assert_eq!(
            f.load(None).unwrap(),
            creds("AKIDENV", "secretenv", Some("tok"))
        );
        // An explicit profile skips the environment, as `aws --profile` does.
        assert_eq!(
            f.load(Some("default")).unwrap(),
            creds("AKIDDEFAULT", "secretdefault", None)
        );
    }

    #[test]
    fn partial_environment_is_an_error() {
        let f = Fixture::new(Some(CREDENTIALS), None).set("AWS_ACCESS_KEY_ID", "AKIDENV");
        assert_eq!(
            f.load(None).unwrap_err().to_string(),
            "Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY"
        );
        let f = Fixture::new(None, None).set("AWS_SECRET_ACCESS_KEY", "s");
        assert_eq!(
            f.load(None).unwrap_err().to_string(),
            "Partial credentials found in env, missing: AWS_ACCESS_KEY_ID"
        );
        // Empty values count as unset.
        let f = Fixture::new(Some(CREDENTIALS), None).set("AWS_ACCESS_KEY_ID", "");
        assert_eq!(f.load(None).unwrap().access_key_id, "AKIDDEFAULT");
    }

    #[test]
    fn profile_from_argument_env_or_default() {
        let f = Fixture::new(Some(CREDENTIALS), Some(CONFIG));
        assert_eq!(f.load(None).unwrap().access_key_id, "AKIDDEFAULT");
        assert_eq!(
            f.load(Some("prod")).unwrap(),
            creds("AKIDPROD", "secret/prod+key", Some("token=="))
        );
        let f = f.set("AWS_PROFILE", "prod");
        assert_eq!(f.load(None).unwrap().access_key_id, "AKIDPROD");
        assert_eq!(
            f.load(Some("default")).unwrap().access_key_id,
            "AKIDDEFAULT"
        );
    }

    #[test]
    fn config_file_profiles_hold_keys_too() {
        let f = Fixture::new(Some(CREDENTIALS), Some(CONFIG));
        assert_eq!(
            f.load(Some("cfgonly")).unwrap(),
            creds("AKIDCFG", "secretcfg", None)
        );
        // Only `[profile NAME]` names a profile in the config file.
        let f = Fixture::new(
            None,
            Some("[cfgonly]\naws_access_key_id=A\naws_secret_access_key=B\n"),
        );
        assert!(matches!(
            f.load(Some("cfgonly")),
            Err(CredentialsError::ProfileNotFound(_))
        ));
    }

    #[test]
    fn explicit_files_and_tilde() {
        let f = Fixture::new(None, None);
        let custom = f.dir.path().join("custom-creds");
        std::fs::write(
            &custom,
            "[x]\naws_access_key_id=AKX\naws_secret_access_key=SX\n",
        )
        .unwrap();
        std::fs::write(
            f.dir.path().join("custom-config"),
            "[profile x]\nregion = sa-east-1\n",
        )
        .unwrap();
        let f = f
            .set("AWS_SHARED_CREDENTIALS_FILE", &custom.display().to_string())
            .set("AWS_CONFIG_FILE", "~/custom-config");
        assert_eq!(f.load(Some("x")).unwrap(), creds("AKX", "SX", None));
        assert_eq!(f.region(Some("x")).as_deref(), Some("sa-east-1"));
    }

    #[test]
    fn missing_things() {
        let f = Fixture::new(None, None);
        assert_eq!(
            f.load(None).unwrap_err().to_string(),
            "Unable to locate credentials"
        );
        assert_eq!(
            f.load(Some("nope")).unwrap_err().to_string(),
            "The config profile (nope) could not be found"
        );
        let f = Fixture::new(Some("[default]\naws_access_key_id = A\n"), None);
        assert_eq!(
            f.load(None).unwrap_err().to_string(),
            "Partial credentials found in shared-credentials-file, missing: aws_secret_access_key"
        );
        // A profile that exists but has no keys is "no credentials", not "no profile".
        let f = Fixture::new(None, Some("[profile p]\nregion = us-east-1\n"));
        assert!(matches!(f.load(Some("p")), Err(CredentialsError::NotFound)));
    }

    #[test]
    fn unreadable_file_is_reported() {
        let f = Fixture::new(None, None);
        // A directory where the file should be cannot be read as text.
        std::fs::create_dir(f.dir.path().join(".aws").join("credentials")).unwrap();
        assert!(matches!(f.load(None), Err(CredentialsError::Io { .. })));
    }

    #[test]
    fn region_chain() {
        let f = Fixture::new(None, Some(CONFIG));
        assert_eq!(f.region(None).as_deref(), Some("eu-west-1"));
        assert_eq!(f.region(Some("prod")).as_deref(), Some("us-west-2"));
        assert_eq!(f.region(Some("cfgonly")).as_deref(), Some("ap-south-1"));
        assert_eq!(f.region(Some("absent")), None);
        let f = f.set("AWS_DEFAULT_REGION", "us-east-2");
        assert_eq!(f.region(Some("prod")).as_deref(), Some("us-east-2"));
        let f = f.set("AWS_REGION", "ca-central-1");
        assert_eq!(f.region(Some("prod")).as_deref(), Some("ca-central-1"));
        assert_eq!(Fixture::new(None, None).region(None), None);
    }

    #[test]
    fn profile_default_in_config_file() {
        let f = Fixture::new(None, Some("[profile default]\nREGION = us-east-1\n"));
        assert_eq!(f.region(None).as_deref(), Some("us-east-1"));
    }

    #[test]
    fn rendered_profile_loads_back() {
        let with_token = creds("AKIDX", "sec/ret+", Some("tok=="));
        let text = render_profile("default", &with_token);
        assert_eq!(
            text,
            "[default]\naws_access_key_id = AKIDX\naws_secret_access_key = sec/ret+\n\
             aws_session_token = tok==\n"
        );
        let f = Fixture::new(Some(&text), None);
        assert_eq!(f.load(None).unwrap(), with_token);
        assert_eq!(
            render_profile("p", &creds("A", "B", None)),
            "[p]\naws_access_key_id = A\naws_secret_access_key = B\n"
        );
    }

    #[test]
    fn generated_keys_look_like_aws_keys() {
        let a = generate();
        let b = generate();
        assert_ne!(a.access_key_id, b.access_key_id);
        assert_ne!(a.secret_access_key, b.secret_access_key);
        for c in [&a, &b] {
            assert_eq!(c.access_key_id.len(), 20);
            assert!(c.access_key_id.starts_with("AKIA"));
            assert!(
                c.access_key_id[4..]
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
            );
            assert_eq!(c.secret_access_key.len(), 40);
            assert!(
                c.secret_access_key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
            );
            assert_eq!(c.session_token, None);
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let shown = format!("{:?}", creds("AKIDX", "verysecret", Some("tokentext")));
        assert!(shown.contains("AKIDX"));
        assert!(!shown.contains("verysecret"));
        assert!(!shown.contains("tokentext"));
    }
}
