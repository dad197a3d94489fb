//! What the OpenAPI tests share: the traversal corpus and the property test's parts.
pub mod corpus;
pub mod wire;
