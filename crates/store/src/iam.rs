//! IAM users, access keys and inline policies, kept in the catalog.
//!
//! The store only keeps them; `auth` decides what a policy allows and how a request is
//! verified.

use crate::catalog::Catalog;
use crate::error::{Result, StoreError};
use rusqlite::{OptionalExtension, params};

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Owning account.
    pub account: String,
    /// User name.
    pub name: String,
    /// Stable id, `AIDA...`, as AWS shows it.
    pub user_id: String,
    /// Epoch milliseconds.
    pub creation_time: i64,
}

impl User {
    /// `arn:aws:iam::<account>:user/<name>`.
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:user/{}", self.account, self.name)
    }
}

/// An access key and the user it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    /// `AKIA...`.
    pub access_key_id: String,
    /// The secret the key signs with.
    pub secret: String,
    /// Owner account.
    pub account: String,
    /// Owner user.
    pub user_name: String,
    /// `Active` or `Inactive`.
    pub status: String,
    /// Epoch milliseconds.
    pub creation_time: i64,
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        account: r.get(0)?,
        name: r.get(1)?,
        user_id: r.get(2)?,
        creation_time: r.get(3)?,
    })
}

impl Catalog {
    /// Creates a user; `UserExists` if the name is taken in the account.
    pub fn create_user(&self, user: &User) -> Result<()> {
        let inserted = self.conn().execute(
            "INSERT INTO iam_users (account, name, user_id, creation_time) VALUES (?1, ?2, ?3, ?4)",
            params![user.account, user.name, user.user_id, user.creation_time],
        );
        match inserted {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(StoreError::UserExists(user.name.clone()))
            }
            Err(e) => Err(e.into()),
            Ok(_) => Ok(()),
        }
    }

    /// Looks a user up.
    pub fn user(&self, account: &str, name: &str) -> Result<User> {
        self.conn()
            .prepare_cached(
                "SELECT account, name, user_id, creation_time FROM iam_users WHERE account = ?1 AND name = ?2",
            )?
            .query_row(
                params![account, name],
                user_from_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::UserNotFound(name.to_string()))
    }

    /// Users of an account, by name.
    pub fn users(&self, account: &str) -> Result<Vec<User>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT account, name, user_id, creation_time FROM iam_users WHERE account = ?1 ORDER BY name",
        )?;
        let rows = stmt.query_map([account], user_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Stores a new access key for an existing user.
    pub fn create_access_key(&self, key: &AccessKey) -> Result<()> {
        self.user(&key.account, &key.user_name)?;
        self.conn().execute(
            "INSERT INTO iam_access_keys (access_key_id, secret, account, user_name, status, creation_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![key.access_key_id, key.secret, key.account, key.user_name, key.status, key.creation_time],
        )?;
        Ok(())
    }

    /// Looks an access key up by id; `None` for an unknown key.
    pub fn access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT access_key_id, secret, account, user_name, status, creation_time FROM iam_access_keys WHERE access_key_id = ?1",
            )?
            .query_row([access_key_id], |r| {
                Ok(AccessKey {
                    access_key_id: r.get(0)?,
                    secret: r.get(1)?,
                    account: r.get(2)?,
                    user_name: r.get(3)?,
                    status: r.get(4)?,
                    creation_time: r.get(5)?,
                })
            })
            .optional()?)
    }

    /// Adds or replaces an inline policy of a user.
    pub fn put_user_policy(
        &self,
        account: &str,
        user: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<()> {
        self.user(account, user)?;
        self.conn().execute(
            "INSERT INTO iam_user_policies (account, user_name, policy_name, document) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(account, user_name, policy_name) DO UPDATE SET document = excluded.document",
            params![account, user, policy_name, document],
        )?;
        Ok(())
    }

    /// The inline policy documents of a user.
    pub fn user_policies(&self, account: &str, user: &str) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT policy_name, document FROM iam_user_policies WHERE account = ?1 AND user_name = ?2 ORDER BY policy_name",
        )?;
        let rows = stmt.query_map(params![account, user], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
