//! The MCP test drivers: the reference Python client (`mcp` package) driven line by line through
//! `mcp_driver.py`, over streamable HTTP or stdio, and the official TypeScript client (npm
//! `@modelcontextprotocol/sdk`, installed into `testkit/ts-client` by `scripts/test.sh`) through
//! `ts-client/mcp_driver.mjs`, over streamable HTTP, with the same line protocol.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The Python interpreter with the `mcp` package (`BAS_TEST_PYTHON`, else `python3`).
pub fn python() -> String {
    std::env::var("BAS_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// A real MCP client (the Python `mcp` package or the TypeScript SDK) driven line by line.
pub struct McpClient {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// The server name the client saw at initialization.
    pub server_name: String,
}

/// The Node.js program (`BAS_TEST_NODE`, else `node`).
pub fn node() -> String {
    std::env::var("BAS_TEST_NODE").unwrap_or_else(|_| "node".into())
}

impl McpClient {
    fn spawn(args: &[&str], env: &[(String, String)]) -> McpClient {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/mcp_driver.py");
        Self::spawn_with(&python(), script, args, env)
    }

    /// Connect the official TypeScript client over streamable HTTP to `{base}/mcp`.
    pub fn typescript(base: &str, key: Option<&str>) -> McpClient {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/ts-client/mcp_driver.mjs");
        let url = format!("{base}/mcp");
        let mut args = vec!["http", url.as_str()];
        if let Some(k) = key {
            args.push(k);
        }
        Self::spawn_with(&node(), script, &args, &[])
    }

    fn spawn_with(
        program: &str,
        script: &str,
        args: &[&str],
        env: &[(String, String)],
    ) -> McpClient {
        let mut cmd = Command::new(program);
        cmd.arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot run {program} {script} (scripts/test.sh installs the MCP clients): {e}")
        });
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let hello: Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            panic!("the MCP client {script} did not start (is its package installed?): {line:?}")
        });
        assert_eq!(hello["ready"], true, "{hello}");
        McpClient {
            child,
            stdin,
            stdout,
            server_name: hello["server_name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// Connect over streamable HTTP to `{base}/mcp`.
    pub fn http(base: &str, key: Option<&str>) -> McpClient {
        let url = format!("{base}/mcp");
        let mut args = vec!["http", url.as_str()];
        if let Some(k) = key {
            args.push(k);
        }
        Self::spawn(&args, &[])
    }

    /// Start the service binary `bin`'s `mcp` command over stdio with this environment.
    pub fn stdio(bin: &str, env: Vec<(String, String)>) -> McpClient {
        Self::spawn(&["stdio", bin, "mcp"], &env)
    }

    fn send(&mut self, req: Value) -> Value {
        let v = self.exchange(req);
        assert_eq!(v["ok"], true, "MCP client failed: {v}");
        v
    }

    /// One request to the driver and its answer, which may be the client's exception.
    fn exchange(&mut self, req: Value) -> Value {
        writeln!(self.stdin, "{req}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let v: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("bad driver answer {line:?}"));
        v
    }

    /// `tools/call` that may end in a protocol error: `{ok: false, exception}` then.
    pub fn call_raw(&mut self, name: &str, args: Value) -> Value {
        self.exchange(json!({"op": "call", "name": name, "args": args}))
    }

    /// `tools/list`.
    pub fn list_tools(&mut self) -> Vec<Value> {
        self.send(json!({"op": "list_tools"}))["tools"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// `tools/call`: `{is_error, structured, texts, images}`.
    pub fn call(&mut self, name: &str, args: Value) -> Value {
        self.send(json!({"op": "call", "name": name, "args": args}))
    }

    /// A call that must succeed; returns its structured content.
    pub fn ok(&mut self, name: &str, args: Value) -> Value {
        let r = self.call(name, args.clone());
        assert_eq!(r["is_error"], false, "{name}({args}) failed: {r}");
        r["structured"].clone()
    }

    /// A call that must fail; returns its `code`. The error travels as the JSON text
    /// `{error, detail, code}` of the result's one text block, with no structured content.
    pub fn err_code(&mut self, name: &str, args: Value) -> String {
        let r = self.call(name, args.clone());
        assert_eq!(r["is_error"], true, "{name}({args}) should fail: {r}");
        assert!(
            r["structured"].is_null(),
            "an error result carries no structured content: {r}"
        );
        let text = r["texts"][0].as_str().unwrap_or_default();
        let body: Value = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("{name}: the error text is not JSON ({e}): {r}"));
        assert!(body["detail"].is_string(), "{r}");
        body["code"].as_str().unwrap_or_default().to_string()
    }
}

impl Drop for McpClient {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "{}", json!({"op": "quit"}));
        let _ = self.stdin.flush();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
