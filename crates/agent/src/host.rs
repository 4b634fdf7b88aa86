//! What `{instance_id}`, `{hostname}` and `{ip_address}` in a stream name stand for.
//!
//! On EC2 the instance id comes from the instance metadata service (IMDSv2, then v1);
//! elsewhere it falls back to a stable id of the host: `/etc/machine-id` (systemd's),
//! then `/var/lib/dbus/machine-id`, then the host name.

use std::net::{IpAddr, UdpSocket};
use std::time::Duration;

const IMDS: &str = "http://169.254.169.254/latest";
/// The metadata service answers in milliseconds on EC2; anywhere else, give up quickly.
const IMDS_TIMEOUT: Duration = Duration::from_millis(500);

/// The values of the stream-name placeholders on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    /// EC2 instance id, or a stable host id.
    pub instance_id: String,
    /// The host name.
    pub hostname: String,
    /// The first non-loopback IPv4 address, else `127.0.0.1`.
    pub ip_address: String,
}

impl HostInfo {
    /// Looks the values up; the metadata service is asked only when `need_instance_id`.
    pub async fn discover(need_instance_id: bool) -> HostInfo {
        let hostname = hostname();
        let instance_id = match need_instance_id {
            true => match imds_instance_id().await {
                Some(id) => id,
                None => machine_id().unwrap_or_else(|| hostname.clone()),
            },
            false => String::new(),
        };
        HostInfo {
            instance_id,
            hostname,
            ip_address: ip_address(),
        }
    }

    /// Replaces the placeholders in a stream name (`{local_hostname}` is the CloudWatch
    /// agent's spelling of `{hostname}`).
    pub fn expand(&self, template: &str) -> String {
        template
            .replace("{instance_id}", &self.instance_id)
            .replace("{hostname}", &self.hostname)
            .replace("{local_hostname}", &self.hostname)
            .replace("{ip_address}", &self.ip_address)
    }
}

async fn imds_instance_id() -> Option<String> {
    let http = reqwest::Client::builder()
        .timeout(IMDS_TIMEOUT)
        .connect_timeout(IMDS_TIMEOUT)
        .no_proxy()
        .build()
        .ok()?;
    let token = http
        .put(format!("{IMDS}/api/token"))
        .header("X-aws-ec2-metadata-token-ttl-seconds", "60")
        .send()
        .await
        .ok()
        .filter(|r| r.status().is_success());
    let mut request = http.get(format!("{IMDS}/meta-data/instance-id"));
    if let Some(token) = token {
        request = request.header("X-aws-ec2-metadata-token", token.text().await.ok()?);
    }
    let response = request.send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let id = response.text().await.ok()?.trim().to_string();
    id.starts_with("i-").then_some(id)
}

fn machine_id() -> Option<String> {
    ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into a buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let name = String::from_utf8_lossy(&buf[..end]).into_owned();
        if !name.is_empty() {
            return name;
        }
    }
    "localhost".into()
}

fn ip_address() -> String {
    // Connecting a UDP socket sends nothing; it only asks the kernel which local address
    // would route to the outside (a documentation address here).
    UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("192.0.2.1:9")?;
            s.local_addr()
        })
        .ok()
        .map(|a| a.ip())
        .filter(|ip| matches!(ip, IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_unspecified()))
        .map_or_else(|| "127.0.0.1".into(), |ip| ip.to_string())
}
