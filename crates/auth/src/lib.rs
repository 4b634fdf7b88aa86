//! Who may call Trailwatch, and how our own clients prove who they are.
//!
//! - [`sigv4`] verifies AWS Signature Version 4 on incoming requests exactly as AWS's
//!   front end does, with AWS's error codes and messages, and signs requests for our own
//!   clients the way botocore does.
//! - [`policy`] parses IAM-style identity policies and decides whether an action on a
//!   resource is allowed.
//! - [`credentials`] reads keys the way the AWS CLI does (environment, shared
//!   credentials and config files), renders credentials-file sections and generates new
//!   AWS-shaped keys.
//!
//! Everything here is pure logic except reading the credentials files, so the server and
//! the clients can share it.

#![warn(missing_docs)]

pub mod credentials;
pub mod policy;
pub mod sigv4;

pub use credentials::{Credentials, CredentialsError};
pub use policy::{Decision, Effect, Policy, PolicyError, Statement};
pub use sigv4::{AuthError, AuthForm, Claims, RequestToSign, SignedRequest};
