//! Queries over stored log events, as StartQuery runs them.
//!
//! [`insights`] parses the CloudWatch Logs Insights query language (`queryLanguage =
//! "CWLI"`) into a typed tree, with AWS's rules checked and errors located by line and
//! column for `MalformedQueryException`. The planner that runs those trees on DataFusion,
//! and the SQL dialect, will live in this crate too. [`lake`] runs CloudTrail Lake SQL over
//! event data stores; [`external`] adds SQL tables over files (`CREATE EXTERNAL TABLE`),
//! CloudTrail trees included. A server runs all of them on an [`Executor`], threads of
//! their own.

pub mod engine;
mod executor;
pub mod external;
pub mod insights;
pub mod lake;
pub mod table;

pub use executor::Executor;
