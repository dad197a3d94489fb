//! Traversal spellings: paths a guest granted only `/open-apis/im/v1/messages` might use to
//! reach another API (`/open-apis/contact/v3/users`) or leave `/open-apis/`. Every one must be
//! denied before anything is sent. Shared by the unit tests (`runtime/src/openapi/tests.rs`)
//! and the end-to-end tests through the binaries (`runtime/tests/openapi_e2e.rs`).
#![allow(dead_code)] // each test crate uses its own subset

/// The grant the corpus is meant to escape.
pub const GRANTED: &str = "/open-apis/im/v1/messages";

/// Each path is denied with a grant of [`GRANTED`] alone.
pub const TRAVERSALS: &[&str] = &[
    // Plain dot segments.
    "/open-apis/im/v1/messages/../../../contact/v3/users",
    "/open-apis/im/v1/messages/./../../../contact/v3/users",
    "/open-apis/im/v1/messages/.../contact/v3/users",
    "/open-apis/../open-apis/contact/v3/users",
    "/open-apis/im/v1/messages/../../../../../etc/passwd",
    "/open-apis/im/v1/messages/..",
    // Encoded dots, every case mix (the issue's `.%2e` and `%2E.`).
    "/open-apis/im/v1/messages/.%2e/.%2e/.%2e/contact/v3/users",
    "/open-apis/im/v1/messages/%2E./%2E./%2E./contact/v3/users",
    "/open-apis/im/v1/messages/%2e%2e/%2e%2e/%2e%2e/contact/v3/users",
    "/open-apis/im/v1/messages/%2E%2E/%2E%2E/%2E%2E/contact/v3/users",
    "/open-apis/im/v1/messages/.%2E/%2e./%2E%2e/contact/v3/users",
    "/open-apis/im/v1/messages/%2e/contact",
    "/open-apis/im/v1/messages/%2e%2e",
    // Encoded slashes and backslashes.
    "/open-apis/im/v1/messages/..%2f..%2f..%2fcontact/v3/users",
    "/open-apis/im/v1/messages/..%2F..%2F..%2Fcontact/v3/users",
    "/open-apis/im/v1/messages/%2e%2e%2f%2e%2e%2f%2e%2e%2fcontact%2fv3%2fusers",
    "/open-apis/im/v1/messages/..%5c..%5c..%5ccontact/v3/users",
    "/open-apis/im/v1/messages/..%5C..%5C..%5Ccontact/v3/users",
    "/open-apis/im/v1/messages/%2e%2e%5c%2e%2e%5ccontact",
    // Double (and triple) encoding.
    "/open-apis/im/v1/messages/%252e%252e/%252e%252e/%252e%252e/contact/v3/users",
    "/open-apis/im/v1/messages/%252E%252E%252F%252E%252E%252Fcontact",
    "/open-apis/im/v1/messages/..%252f..%252f..%252fcontact/v3/users",
    "/open-apis/im/v1/messages/..%255c..%255ccontact",
    "/open-apis/im/v1/messages/%25%32%65%25%32%65/contact",
    "/open-apis/im/v1/messages/%25252e%25252e/contact",
    // Backslashes.
    "/open-apis/im/v1/messages/..\\..\\..\\contact/v3/users",
    "/open-apis/im/v1/messages\\..\\..\\..\\contact\\v3\\users",
    "/open-apis/im/v1/messages/.\\./contact",
    // `;` path parameters (Tomcat's `..;/`).
    "/open-apis/im/v1/messages/..;/..;/..;/contact/v3/users",
    "/open-apis/im/v1/messages;/../../../contact/v3/users",
    "/open-apis/im/v1/messages/x;jsessionid=1",
    "/open-apis/im/v1/messages/..%3b/..%3b/contact",
    "/open-apis/im/v1/messages/%3B/contact",
    // Overlong and other non-ASCII UTF-8.
    "/open-apis/im/v1/messages/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/contact/v3/users",
    "/open-apis/im/v1/messages/%C0%AE%C0%AE/contact",
    "/open-apis/im/v1/messages/..%c0%af..%c0%af..%c0%afcontact/v3/users",
    "/open-apis/im/v1/messages/%e0%80%ae%e0%80%ae/contact",
    "/open-apis/im/v1/messages/%f0%80%80%ae%f0%80%80%ae/contact",
    "/open-apis/im/v1/messages/..%c1%9c..%c1%9ccontact",
    "/open-apis/im/v1/messages/%ef%bc%8e%ef%bc%8e/contact",
    "/open-apis/im/v1/messages/\u{ff0e}\u{ff0e}/contact",
    "/open-apis/im/v1/messages/\u{2025}/contact",
    "/open-apis/im/v1/messages/%u002e%u002e/contact",
    // Empty segments and `//`.
    "/open-apis/im/v1/messages//../contact/v3/users",
    "/open-apis/im/v1/messages//contact",
    "/open-apis/im/v1/messages/",
    "/open-apis//im/v1/messages",
    "//open-apis/im/v1/messages",
    "/open-apis/im/v1/messages/%2f",
    // Control characters and spaces the URL parser strips or keeps.
    "/open-apis/im/v1/messages/.\t./.\t./.\t./contact/v3/users",
    "/open-apis/im/v1/messages/.\n./contact",
    "/open-apis/im/v1/messages/.\r./contact",
    "/open-apis/im/v1/messages/%00/contact",
    "/open-apis/im/v1/messages/..%00/contact",
    "/open-apis/im/v1/messages/%09..%09/contact",
    "/open-apis/im/v1/messages/. ./contact",
    " /open-apis/im/v1/messages/../contact",
    "/open-apis/im/v1/messages\r\nHost: evil.example",
    // Query and fragment tricks.
    "/open-apis/im/v1/messages?/../../../contact/v3/users",
    "/open-apis/im/v1/messages?x=/../../contact",
    "/open-apis/im/v1/messages?x=1#/../../../contact/v3/users",
    "/open-apis/im/v1/messages#/../../contact",
    "/open-apis/im/v1/messages?x=\\..\\contact",
    "/open-apis/im/v1/messages??/../contact",
    "/open-apis/im/v1/messages?x=1;/../contact",
    "/open-apis/im/v1/messages/%3f/../../contact",
    // Encoded letters (the server decodes them to another API).
    "/open-apis/im/v1/%6d%65%73%73%61%67%65%73/../../../contact/v3/users",
    "/open-apis/%63ontact/v3/users",
    // Other spellings of leaving the root.
    "/OPEN-APIS/contact/v3/users",
    "/open-apis%2fcontact/v3/users",
    "http://evil.example/open-apis/im/v1/messages",
    "//evil.example/open-apis/im/v1/messages",
    "\\\\evil.example/open-apis/im/v1/messages",
    "/open-apis/im/v1/messages_x/../../../contact",
];
