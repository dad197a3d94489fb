//! Lenient deserialization helpers.

use serde::{Deserialize, Deserializer};

/// A missing field or an explicit `null` becomes `T::default()`.
pub(crate) fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Declares a lenient serde model: every field is `#[serde(default)]` and tolerates `null`;
/// unknown fields are ignored. Derives Debug, Clone, Default, PartialEq, Serialize, Deserialize.
macro_rules! model {
    (
        $(#[$m:meta])*
        pub struct $name:ident {
            $( $(#[$fm:meta])* pub $f:ident : $t:ty ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $(
                $(#[$fm])*
                #[serde(default, deserialize_with = "crate::de::lenient")]
                pub $f: $t,
            )*
        }
    };
}
pub(crate) use model;
