//! Counting the events a query matched (GetQueryResults' `recordsMatched`) inside the
//! plan, without a second scan.
//!
//! The counter is a volatile function wrapping the conjunction of every filter so far,
//! used as one more filter: DataFusion merges it with those filters and may evaluate it
//! on a whole batch or only on rows that already passed, and in both cases the rows for
//! which its argument is true are exactly the matched ones.

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
    expr::ScalarFunction,
};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug)]
struct Matched {
    count: Arc<AtomicU64>,
    signature: Signature,
}

impl PartialEq for Matched {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.count, &other.count)
    }
}

impl Eq for Matched {}

impl Hash for Matched {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.count).hash(state);
    }
}

impl ScalarUDFImpl for Matched {
    fn name(&self) -> &str {
        "insights_matched"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(condition) = args.args.into_iter().next() else {
            return Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))));
        };
        let matched = match &condition {
            ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))) => args.number_rows as u64,
            ColumnarValue::Scalar(_) => 0,
            ColumnarValue::Array(a) => a.as_boolean().true_count() as u64,
        };
        self.count.fetch_add(matched, Ordering::Relaxed);
        Ok(condition)
    }
}

/// A filter condition that is `condition` itself and counts its true rows into `count`.
pub fn counting(condition: Expr, count: Arc<AtomicU64>) -> Expr {
    let udf = Matched {
        count,
        signature: Signature::exact(vec![DataType::Boolean], Volatility::Volatile),
    };
    Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(ScalarUDF::new_from_impl(udf)),
        vec![condition],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, BooleanArray};

    #[test]
    fn counts_true_rows_only() {
        let count = Arc::new(AtomicU64::new(0));
        let udf = Matched {
            count: count.clone(),
            signature: Signature::exact(vec![DataType::Boolean], Volatility::Volatile),
        };
        let array = Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            None,
            Some(true),
        ]));
        let args = ScalarFunctionArgs {
            args: vec![ColumnarValue::Array(array.clone())],
            arg_fields: vec![],
            number_rows: 4,
            return_field: Arc::new(datafusion::arrow::datatypes::Field::new(
                "m",
                DataType::Boolean,
                true,
            )),
            config_options: Arc::new(Default::default()),
        };
        let out = udf.invoke_with_args(args).unwrap();
        assert_eq!(count.load(Ordering::Relaxed), 2);
        assert!(matches!(out, ColumnarValue::Array(a) if a.len() == 4));
    }
}
