//! The `kv` wrappers (checked through the host shim).

use aviary_guest::{kv, testing};
use serde_json::json;

#[test]
fn get_set_delete_increment_list_and_json() {
    testing::clear_kv();
    assert_eq!(kv::get("a").unwrap(), None);
    kv::set("a", "1").unwrap();
    kv::set_with_ttl("b/1", "x", 60).unwrap();
    kv::set("b/2", "y").unwrap();
    assert_eq!(kv::get("a").unwrap().as_deref(), Some("1"));
    assert_eq!(kv::increment("a", 4).unwrap(), 5);
    assert_eq!(kv::increment("n", -2).unwrap(), -2);
    assert!(kv::increment("b/1", 1).unwrap_err().contains("not an integer"));
    assert_eq!(kv::list("b/", "", 0).unwrap(), ["b/1", "b/2"]);
    assert_eq!(kv::list("b/", "b/1", 10).unwrap(), ["b/2"]);
    assert_eq!(kv::list("", "", 2).unwrap(), ["a", "b/1"]);
    kv::delete("a").unwrap();
    assert_eq!(kv::get("a").unwrap(), None);
    kv::set_json("j", &json!({"turns": ["hi"]})).unwrap();
    let v: serde_json::Value = kv::get_json("j").unwrap().unwrap();
    assert_eq!(v["turns"][0], "hi");
    let e = kv::get_json::<Vec<u32>>("b/2").unwrap_err();
    assert!(e.contains("not the expected JSON"), "{e}");
    assert_eq!(testing::kv_state().len(), 4);
}

#[test]
fn a_denied_handler_gets_errors() {
    testing::clear_kv();
    testing::deny_kv();
    assert!(kv::get("a").unwrap_err().contains("denied"));
    assert!(kv::set("a", "1").unwrap_err().contains("denied"));
    assert!(kv::increment("a", 1).unwrap_err().contains("denied"));
    testing::clear_kv();
    assert!(kv::set("a", "1").is_ok());
}
