//! Queries over stored log events, as StartQuery runs them.
//!
//! [`insights`] parses the CloudWatch Logs Insights query language (`queryLanguage =
//! "CWLI"`) into a typed tree, with AWS's rules checked and errors located by line and
//! column for `MalformedQueryException`; `insights::plan` turns a tree into a DataFusion
//! plan over [`table`], log groups as one table, and [`engine`] runs it (and SQL over the
//! same tables), rendering rows as AWS does. [`lake`] runs CloudTrail Lake SQL over
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
