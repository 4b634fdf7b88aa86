//! The functions of the language, with their arities.

macro_rules! functions {
    ($($variant:ident => $name:literal, $kind:ident, $min:literal, $max:expr, $doc:literal;)*) => {
        /// A function of the language. Names match case-insensitively; [`Function::name`]
        /// gives the spelling AWS documents.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Function {
            $(
                #[doc = concat!("`", $name, "`: ", $doc)]
                $variant,
            )*
        }

        impl Function {
            /// Every function, in documentation order.
            pub const ALL: &'static [Function] = &[$(Function::$variant),*];

            /// The documented spelling.
            pub fn name(self) -> &'static str {
                match self {
                    $(Function::$variant => $name,)*
                }
            }

            fn spec(self) -> (Kind, usize, Option<usize>) {
                match self {
                    $(Function::$variant => (Kind::$kind, $min, $max),)*
                }
            }
        }
    };
}

/// Where a function may be used.
#[derive(PartialEq)]
enum Kind {
    Scalar,
    /// Only in a `stats` aggregation, and not nested in another one.
    Aggregate,
}

functions! {
    // Numeric.
    Abs => "abs", Scalar, 1, Some(1), "absolute value.";
    Ceil => "ceil", Scalar, 1, Some(1), "round up.";
    Floor => "floor", Scalar, 1, Some(1), "round down.";
    Greatest => "greatest", Scalar, 1, None, "largest argument.";
    Least => "least", Scalar, 1, None, "smallest argument.";
    Log => "log", Scalar, 1, Some(1), "natural logarithm.";
    Sqrt => "sqrt", Scalar, 1, Some(1), "square root.";
    Round => "round", Scalar, 1, Some(2), "round to an optional number of decimals.";
    Haversine => "haversine", Scalar, 4, Some(4), "distance in km between two lat/lon points.";
    ToNumber => "toNumber", Scalar, 1, Some(1), "string to number.";
    ToInt => "toInt", Scalar, 1, Some(1), "string to 32-bit integer, a fraction dropped; no value out of 32-bit range (AWS does not say; a wrapped number would mislead).";
    ToLong => "toLong", Scalar, 1, Some(1), "string to 64-bit integer, exact for whole-number text, a fraction dropped; no value out of range.";
    ToDouble => "toDouble", Scalar, 1, Some(1), "string to double.";
    // Datetime.
    Bin => "bin", Scalar, 1, Some(1), "`@timestamp` rounded down to a period (capped, see `Period::capped_for_bin`); weeks start on Monday, months, quarters and years on their first day (UTC).";
    DateFloor => "datefloor", Scalar, 2, Some(2), "timestamp rounded down to a period.";
    DateCeil => "dateceil", Scalar, 2, Some(2), "timestamp rounded up to a period, by calendar for months, quarters and years; a time on a boundary is its own ceiling.";
    FromMillis => "fromMillis", Scalar, 1, Some(1), "epoch milliseconds to timestamp.";
    ToMillis => "toMillis", Scalar, 1, Some(1), "timestamp to epoch milliseconds.";
    Now => "now", Scalar, 0, Some(0), "query start in epoch seconds.";
    ParseDate => "parseDate", Scalar, 2, Some(3), "string to epoch ms with a Java formatter pattern and optional zone.";
    FormatDate => "formatDate", Scalar, 2, Some(3), "timestamp to string with a strftime format and optional zone.";
    Strftime => "strftime", Scalar, 2, Some(3), "alias of `formatDate`.";
    // General.
    IsPresent => "ispresent", Scalar, 1, Some(1), "1 if the field exists.";
    Coalesce => "coalesce", Scalar, 1, None, "first non-null argument.";
    Case => "case", Scalar, 2, Some(21), "up to 10 condition/value pairs and an optional default.";
    If => "if", Scalar, 3, Some(3), "`if(cond, then, else)`.";
    IsNumeric => "isNumeric", Scalar, 1, Some(1), "1 if the value is a number.";
    MessageSize => "messageSize", Scalar, 1, Some(1), "size in bytes.";
    QueryStartTime => "queryStartTime", Scalar, 0, Some(0), "query start in epoch ms.";
    QueryEndTime => "queryEndTime", Scalar, 0, Some(0), "query end in epoch ms.";
    QueryTimeRange => "queryTimeRange", Scalar, 0, Some(0), "query range in ms.";
    // JSON.
    JsonParse => "jsonParse", Scalar, 1, Some(1), "string to map or list.";
    JsonStringify => "jsonStringify", Scalar, 1, Some(1), "map or list to string.";
    JsonArraySize => "jsonArraySize", Scalar, 1, Some(1), "length of a JSON array.";
    JsonArrayContains => "jsonArrayContains", Scalar, 2, Some(2), "1 if a JSON array holds the value.";
    // IP addresses.
    IsValidIp => "isValidIp", Scalar, 1, Some(1), "1 for an IPv4 or IPv6 address.";
    IsValidIpV4 => "isValidIpV4", Scalar, 1, Some(1), "1 for an IPv4 address.";
    IsValidIpV6 => "isValidIpV6", Scalar, 1, Some(1), "1 for an IPv6 address.";
    IsIpInSubnet => "isIpInSubnet", Scalar, 2, Some(2), "1 if the address is in the CIDR.";
    IsIpv4InSubnet => "isIpv4InSubnet", Scalar, 2, Some(2), "1 if the IPv4 address is in the CIDR.";
    IsIpv6InSubnet => "isIpv6InSubnet", Scalar, 2, Some(2), "1 if the IPv6 address is in the CIDR.";
    Ipv4ToNumber => "ipv4ToNumber", Scalar, 1, Some(1), "IPv4 address to integer.";
    IsPrivateIp => "isPrivateIP", Scalar, 1, Some(1), "1 for an RFC 1918 address.";
    IsPublicIp => "isPublicIP", Scalar, 1, Some(1), "1 for a public address.";
    IsReservedIp => "isReservedIP", Scalar, 1, Some(1), "1 for a reserved address.";
    // Strings.
    IsEmpty => "isempty", Scalar, 1, Some(1), "1 if missing or empty.";
    IsBlank => "isblank", Scalar, 1, Some(1), "1 if missing, empty or ASCII whitespace.";
    Concat => "concat", Scalar, 1, None, "the arguments joined.";
    Ltrim => "ltrim", Scalar, 1, Some(2), "trim the start, of ASCII whitespace or the given characters.";
    Rtrim => "rtrim", Scalar, 1, Some(2), "trim the end, of ASCII whitespace or the given characters.";
    Trim => "trim", Scalar, 1, Some(2), "trim both ends, of ASCII whitespace or the given characters.";
    Strlen => "strlen", Scalar, 1, Some(1), "length in code points.";
    ToUpper => "toupper", Scalar, 1, Some(1), "upper case.";
    ToLower => "tolower", Scalar, 1, Some(1), "lower case.";
    Substr => "substr", Scalar, 2, Some(3), "substring from a 0-based start, with optional length.";
    Replace => "replace", Scalar, 3, Some(3), "every occurrence replaced.";
    StrContains => "strcontains", Scalar, 2, Some(3), "1 if it contains the text; ignoring case only when the third argument is true (`true`, or a non-zero number).";
    RegexReplace => "regexReplace", Scalar, 3, Some(3), "RE2 matches replaced.";
    StartsWith => "startsWith", Scalar, 2, Some(2), "1 if it starts with the text.";
    EndsWith => "endsWith", Scalar, 2, Some(2), "1 if it ends with the text.";
    UrlEncode => "urlencode", Scalar, 1, Some(1), "URL-encoded.";
    UrlDecode => "urldecode", Scalar, 1, Some(1), "URL-decoded.";
    Base64Encode => "base64encode", Scalar, 1, Some(1), "base64-encoded.";
    Base64Decode => "base64decode", Scalar, 1, Some(1), "base64-decoded.";
    Split => "split", Scalar, 2, Some(2), "list of the parts between delimiters.";
    HexToAscii => "hexToAscii", Scalar, 1, Some(1), "hex digits to text.";
    HexToDec => "hexToDec", Scalar, 1, Some(1), "hex digits to number.";
    DecToHex => "decToHex", Scalar, 1, Some(1), "number to `0x` hex.";
    // Hashing.
    Md5 => "md5", Scalar, 1, Some(1), "MD5 hex digest.";
    Sha256 => "sha256", Scalar, 1, Some(1), "SHA-256 hex digest.";
    // Stats aggregations.
    Avg => "avg", Aggregate, 1, Some(1), "mean.";
    Count => "count", Aggregate, 0, Some(1), "events (`count()`, `count(*)`) or events having the field.";
    CountDistinct => "count_distinct", Aggregate, 1, Some(1), "distinct values, approximate at high cardinality.";
    Max => "max", Aggregate, 1, Some(1), "largest value.";
    Min => "min", Aggregate, 1, Some(1), "smallest value.";
    Pct => "pct", Aggregate, 2, Some(2), "percentile, the second argument a number from 0 to 100.";
    Stddev => "stddev", Aggregate, 1, Some(1), "standard deviation.";
    Sum => "sum", Aggregate, 1, Some(1), "total.";
    // Stats-only functions that pick one value rather than combine.
    Earliest => "earliest", Aggregate, 1, Some(1), "value of the earliest event by `@timestamp`.";
    Latest => "latest", Aggregate, 1, Some(1), "value of the latest event by `@timestamp`.";
    SortsFirst => "sortsFirst", Aggregate, 1, Some(1), "value that sorts first, in the order of `sort` (numbers by value, before text).";
    SortsLast => "sortsLast", Aggregate, 1, Some(1), "value that sorts last, in the order of `sort` (numbers by value, before text).";
}

impl Function {
    /// The function named `name`, ignoring case.
    pub fn lookup(name: &str) -> Option<Function> {
        Function::ALL
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    /// Whether it may only appear in a `stats` aggregation: the aggregate functions and
    /// `earliest`, `latest`, `sortsFirst`, `sortsLast`.
    pub fn is_aggregate(self) -> bool {
        self.spec().0 == Kind::Aggregate
    }

    /// The fewest arguments it takes.
    pub fn min_args(self) -> usize {
        self.spec().1
    }

    /// The most arguments it takes; `None` for no limit.
    pub fn max_args(self) -> Option<usize> {
        self.spec().2
    }
}

#[cfg(test)]
mod tests {
    use super::Function;

    #[test]
    fn names_are_unique_ignoring_case() {
        for (i, a) in Function::ALL.iter().enumerate() {
            for b in &Function::ALL[i + 1..] {
                assert!(!a.name().eq_ignore_ascii_case(b.name()), "{a:?} and {b:?}");
            }
            assert_eq!(Function::lookup(&a.name().to_uppercase()), Some(*a));
        }
    }
}
