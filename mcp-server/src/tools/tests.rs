//! The catalogue's own checks, read from [`TOOLS`]: no Chromium needed.

use super::*;
use serde_json::json;
use std::collections::HashSet;

#[test]
fn every_tool_is_declared_once_with_object_schemas() {
    let mut names = HashSet::new();
    for t in TOOLS {
        assert!(names.insert(t.name), "{} declared twice", t.name);
        let tool = t.to_tool();
        assert_eq!(
            tool.input_schema.get("type"),
            Some(&Value::String("object".into())),
            "{}",
            t.name
        );
        let output = tool.output_schema.as_ref().expect("an output schema");
        assert_eq!(output.get("type"), Some(&json!("object")), "{}", t.name);
        let read_only = tool.annotations.as_ref().and_then(|a| a.read_only_hint);
        assert_eq!(read_only, Some(t.read_only), "{}", t.name);
        assert!(!t.description.is_empty(), "{}", t.name);
    }
    assert_eq!(list().len(), TOOLS.len());
}

#[test]
fn session_and_job_tools_name_their_room_or_job() {
    for t in TOOLS {
        let (input, _) = (t.schemas)();
        let props = input.get("properties").cloned().unwrap_or_default();
        let required = input.get("required").cloned().unwrap_or_default();
        let needs = if t.name.ends_with("_browser_session") && t.name != "list_browser_sessions"
            || matches!(
                t.name,
                "execute_action" | "get_browser_context" | "get_screen_content"
            ) {
            Some("room_name")
        } else if t.name.ends_with("_exploration") && t.name != "start_knowledge_exploration"
            || t.name == "get_exploration_status"
            || t.name == "get_knowledge_results"
        {
            Some("job_id")
        } else {
            None
        };
        if let Some(field) = needs {
            assert!(props.get(field).is_some(), "{} lacks {field}", t.name);
            assert!(
                required
                    .as_array()
                    .is_some_and(|r| r.contains(&json!(field))),
                "{}: {field} not required in {required}",
                t.name
            );
        }
    }
}

#[test]
fn execute_action_takes_every_action_field_flat() {
    let exec = find("execute_action").expect("execute_action");
    let (input, _) = (exec.schemas)();
    let props = input.get("properties").unwrap();
    for f in [
        "room_name",
        "action",
        "url",
        "selector",
        "ref",
        "x",
        "y",
        "text",
        "keys",
        "delta_x",
        "delta_y",
        "timeout_ms",
    ] {
        assert!(
            props.get(f).is_some(),
            "execute_action lacks `{f}`: {props:?}"
        );
    }
}

#[test]
fn dispatch_refuses_unknown_tools_and_non_object_arguments() {
    let e = resolve("no_such_tool", Value::Null).err().expect("refused");
    assert_eq!(e.code(), "unknown_tool");
    assert_eq!(e.body()["error"], "not found");
    let e = resolve("get_browser_context", json!([1, 2]))
        .err()
        .expect("refused");
    assert_eq!(e.code(), "invalid_arguments");
    let (tool, args) = resolve("list_browser_sessions", Value::Null).expect("resolved");
    assert_eq!(tool.name, "list_browser_sessions");
    assert!(args.is_empty());
}

#[test]
fn arguments_are_checked_before_anything_runs() {
    let e = parse::<RoomArgs>(
        json!({"room_name": "r", "extra": 1})
            .as_object()
            .unwrap()
            .clone(),
    )
    .expect_err("unknown field refused");
    assert_eq!(e.code(), "invalid_arguments");
    let e = split_field(Map::new(), "room_name").expect_err("missing");
    assert!(e.to_string().contains("room_name"), "{e}");
}
