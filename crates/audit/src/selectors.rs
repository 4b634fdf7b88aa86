//! Which records a trail or an event data store takes: basic event selectors
//! (`ReadWriteType`, `IncludeManagementEvents`, `DataResources`) and advanced event
//! selectors (field conditions on `eventCategory`, `eventSource`, `eventName`,
//! `readOnly`, `resources.type`, `resources.ARN`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A basic event selector, in the API's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSelector {
    /// `ReadOnly`, `WriteOnly` or `All`.
    #[serde(default = "all")]
    pub read_write_type: String,
    /// Whether management events are taken.
    #[serde(default = "yes")]
    pub include_management_events: bool,
    /// Data event resources: a type and ARN prefixes.
    #[serde(default)]
    pub data_resources: Vec<DataResource>,
    /// Event sources whose management events are left out.
    #[serde(default)]
    pub exclude_management_event_sources: Vec<String>,
}

fn all() -> String {
    "All".into()
}
fn yes() -> bool {
    true
}

impl Default for EventSelector {
    fn default() -> Self {
        EventSelector {
            read_write_type: all(),
            include_management_events: true,
            data_resources: Vec::new(),
            exclude_management_event_sources: Vec::new(),
        }
    }
}

/// A data resource of a basic selector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataResource {
    /// e.g. `AWS::Logs::LogGroup`.
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    /// ARN prefixes; a bare service prefix (`arn:aws:logs`) takes every resource.
    #[serde(default)]
    pub values: Vec<String>,
}

/// Selectors of either kind.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Selectors {
    /// Basic selectors; empty means the default (all management events).
    #[serde(default)]
    pub basic: Vec<EventSelector>,
    /// Advanced selectors, as sent (`[{Name, FieldSelectors: [...]}]`); when present they
    /// replace the basic ones.
    #[serde(default)]
    pub advanced: Option<Vec<Value>>,
}

fn text<'a>(record: &'a Value, key: &str) -> Option<&'a str> {
    record.get(key).and_then(Value::as_str)
}

fn read_only(record: &Value) -> bool {
    record
        .get("readOnly")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn resource_values(record: &Value, key: &str) -> Vec<String> {
    record
        .get("resources")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r.get(key).or_else(|| r.get(key.to_lowercase())))
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl Selectors {
    /// Whether a record is taken.
    pub fn wants(&self, record: &Value) -> bool {
        if let Some(advanced) = &self.advanced {
            return advanced.iter().any(|s| advanced_matches(s, record));
        }
        let category = text(record, "eventCategory").unwrap_or("Management");
        let defaults = [EventSelector::default()];
        let basic: &[EventSelector] = if self.basic.is_empty() {
            &defaults
        } else {
            &self.basic
        };
        basic.iter().any(|s| {
            let rw = match s.read_write_type.as_str() {
                "ReadOnly" => read_only(record),
                "WriteOnly" => !read_only(record),
                _ => true,
            };
            match category {
                "Management" => {
                    rw && s.include_management_events
                        && !text(record, "eventSource").is_some_and(|src| {
                            s.exclude_management_event_sources.iter().any(|x| x == src)
                        })
                }
                "Data" => {
                    let types = resource_values(record, "type");
                    let arns = resource_values(record, "ARN");
                    rw && s.data_resources.iter().any(|d| {
                        d.kind.as_ref().is_none_or(|k| types.contains(k))
                            && d.values.iter().any(|v| {
                                arns.iter().any(|a| a.starts_with(v.as_str()))
                                    || v.split(':').count() <= 3
                            })
                    })
                }
                _ => false,
            }
        })
    }
}

/// One advanced selector: every field condition must hold.
fn advanced_matches(selector: &Value, record: &Value) -> bool {
    let Some(fields) = selector.get("FieldSelectors").and_then(Value::as_array) else {
        return false;
    };
    fields.iter().all(|f| {
        let field = f.get("Field").and_then(Value::as_str).unwrap_or("");
        let values: Vec<String> = match field {
            "readOnly" => vec![read_only(record).to_string()],
            "resources.type" => resource_values(record, "type"),
            "resources.ARN" => resource_values(record, "ARN"),
            other => text(record, other)
                .map(str::to_string)
                .into_iter()
                .collect(),
        };
        condition_holds(f, &values)
    })
}

fn condition_holds(field: &Value, values: &[String]) -> bool {
    let list = |k: &str| -> Vec<&str> {
        field
            .get(k)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let any = |k: &str, test: &dyn Fn(&str, &str) -> bool| {
        let wanted = list(k);
        wanted.is_empty() || values.iter().any(|v| wanted.iter().any(|w| test(v, w)))
    };
    let none = |k: &str, test: &dyn Fn(&str, &str) -> bool| {
        let unwanted = list(k);
        !values.iter().any(|v| unwanted.iter().any(|w| test(v, w)))
    };
    any("Equals", &|v, w| v == w)
        && any("StartsWith", &|v, w| v.starts_with(w))
        && any("EndsWith", &|v, w| v.ends_with(w))
        && none("NotEquals", &|v, w| v == w)
        && none("NotStartsWith", &|v, w| v.starts_with(w))
        && none("NotEndsWith", &|v, w| v.ends_with(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(category: &str, read_only: bool) -> Value {
        json!({"eventCategory": category, "readOnly": read_only, "eventSource": "logs.amazonaws.com",
               "eventName": "PutLogEvents",
               "resources": [{"type": "AWS::Logs::LogGroup", "ARN": "arn:aws:logs:us-east-1:1:log-group:app"}]})
    }

    #[test]
    fn the_default_takes_management_events_only() {
        let s = Selectors::default();
        assert!(s.wants(&record("Management", true)));
        assert!(!s.wants(&record("Data", false)));
    }

    #[test]
    fn basic_selectors_filter_by_read_write_and_resources() {
        let s = Selectors {
            basic: vec![EventSelector {
                read_write_type: "WriteOnly".into(),
                data_resources: vec![DataResource {
                    kind: Some("AWS::Logs::LogGroup".into()),
                    values: vec!["arn:aws:logs:us-east-1:1:log-group:app".into()],
                }],
                ..EventSelector::default()
            }],
            advanced: None,
        };
        assert!(!s.wants(&record("Management", true)));
        assert!(s.wants(&record("Management", false)));
        assert!(s.wants(&record("Data", false)));
    }

    #[test]
    fn advanced_selectors_combine_conditions() {
        let s = Selectors {
            basic: vec![],
            advanced: Some(vec![json!({"Name": "logs data", "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::Logs::LogGroup"]},
                {"Field": "eventName", "NotEquals": ["GetLogEvents"]}
            ]})]),
        };
        assert!(s.wants(&record("Data", false)));
        assert!(!s.wants(&record("Management", false)));
    }
}
