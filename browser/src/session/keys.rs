//! Key names as agents write them (`Enter`, `Control+A`, `Shift+Tab`) turned into the fields of
//! CDP key events.

use platform::error::{EngineError, Result};

/// One key to press, with the modifiers held while it is pressed.
#[derive(Debug, Clone, PartialEq)]
pub struct Chord {
    /// CDP modifier bit mask: Alt=1, Control=2, Meta=4, Shift=8.
    pub modifiers: i64,
    /// Modifier keys to hold, in order.
    pub held: Vec<KeyDef>,
    /// The key itself.
    pub key: KeyDef,
}

/// The fields of one key for `Input.dispatchKeyEvent`.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyDef {
    /// The `key` value (`Enter`, `a`).
    pub key: String,
    /// The physical `code` (`Enter`, `KeyA`).
    pub code: String,
    /// The Windows virtual key code.
    pub key_code: i64,
    /// The text the key types, if any.
    pub text: Option<String>,
}

fn named(name: &str) -> Option<KeyDef> {
    let (key, code, key_code, text): (&str, &str, i64, Option<&str>) =
        match name.to_ascii_lowercase().as_str() {
            "enter" | "return" => ("Enter", "Enter", 13, Some("\r")),
            "tab" => ("Tab", "Tab", 9, None),
            "escape" | "esc" => ("Escape", "Escape", 27, None),
            "backspace" => ("Backspace", "Backspace", 8, None),
            "delete" | "del" => ("Delete", "Delete", 46, None),
            "space" => (" ", "Space", 32, Some(" ")),
            "arrowup" | "up" => ("ArrowUp", "ArrowUp", 38, None),
            "arrowdown" | "down" => ("ArrowDown", "ArrowDown", 40, None),
            "arrowleft" | "left" => ("ArrowLeft", "ArrowLeft", 37, None),
            "arrowright" | "right" => ("ArrowRight", "ArrowRight", 39, None),
            "home" => ("Home", "Home", 36, None),
            "end" => ("End", "End", 35, None),
            "pageup" => ("PageUp", "PageUp", 33, None),
            "pagedown" => ("PageDown", "PageDown", 34, None),
            "insert" => ("Insert", "Insert", 45, None),
            "control" | "ctrl" => ("Control", "ControlLeft", 17, None),
            "shift" => ("Shift", "ShiftLeft", 16, None),
            "alt" | "option" => ("Alt", "AltLeft", 18, None),
            "meta" | "cmd" | "command" | "super" => ("Meta", "MetaLeft", 91, None),
            n if n.len() >= 2 && n.len() <= 3 && n.starts_with('f') => {
                let num: i64 = n[1..].parse().ok().filter(|k| (1..=12).contains(k))?;
                return Some(KeyDef {
                    key: format!("F{num}"),
                    code: format!("F{num}"),
                    key_code: 111 + num,
                    text: None,
                });
            }
            _ => return None,
        };
    Some(KeyDef {
        key: key.into(),
        code: code.into(),
        key_code,
        text: text.map(String::from),
    })
}

fn character(c: char) -> KeyDef {
    let (code, key_code) = if c.is_ascii_alphabetic() {
        (
            format!("Key{}", c.to_ascii_uppercase()),
            c.to_ascii_uppercase() as i64,
        )
    } else if c.is_ascii_digit() {
        (format!("Digit{c}"), c as i64)
    } else {
        let code = match c {
            '-' => "Minus",
            '=' => "Equal",
            '[' => "BracketLeft",
            ']' => "BracketRight",
            ';' => "Semicolon",
            '\'' => "Quote",
            ',' => "Comma",
            '.' => "Period",
            '/' => "Slash",
            '\\' => "Backslash",
            '`' => "Backquote",
            _ => "",
        };
        (code.to_string(), 0)
    };
    KeyDef {
        key: c.to_string(),
        code,
        key_code,
        text: Some(c.to_string()),
    }
}

/// The CDP modifier bit of a modifier key (0 for any other key).
pub(crate) fn modifier_bit(k: &KeyDef) -> i64 {
    match k.key.as_str() {
        "Alt" => 1,
        "Control" => 2,
        "Meta" => 4,
        "Shift" => 8,
        _ => 0,
    }
}

/// Parse `"Control+A Enter"` into two chords. Chords are separated by spaces; keys in a chord
/// by `+`. A single character stands for itself.
pub fn parse_keys(spec: &str) -> Result<Vec<Chord>> {
    let mut chords = Vec::new();
    for part in spec.split_whitespace() {
        let names: Vec<&str> = if part == "+" {
            vec!["+"]
        } else {
            part.split('+').filter(|s| !s.is_empty()).collect()
        };
        if names.is_empty() {
            return Err(EngineError::InvalidRequest(format!(
                "empty key in `{spec}`"
            )));
        }
        let mut defs = Vec::new();
        for n in &names {
            let mut chars = n.chars();
            let def = match (chars.next(), chars.next()) {
                (Some(c), None) => character(c),
                _ => named(n).ok_or_else(|| {
                    EngineError::InvalidRequest(format!(
                        "unknown key `{n}` (use names like Enter, Tab, Escape, ArrowDown, F5, Control+A)"
                    ))
                })?,
            };
            defs.push(def);
        }
        let key = defs.pop().expect("at least one key");
        if defs.iter().any(|d| modifier_bit(d) == 0) {
            return Err(EngineError::InvalidRequest(format!(
                "`{part}`: only Control, Shift, Alt and Meta can be held with another key"
            )));
        }
        let modifiers = defs.iter().map(modifier_bit).fold(0, |a, b| a | b);
        let mut key = key;
        if modifiers & (1 | 2 | 4) != 0 {
            key.text = None; // a shortcut types nothing
        } else if modifiers & 8 != 0 {
            key.text = key.text.map(|t| t.to_uppercase());
        }
        chords.push(Chord {
            modifiers,
            held: defs,
            key,
        });
    }
    if chords.is_empty() {
        return Err(EngineError::InvalidRequest("`keys` is empty".into()));
    }
    Ok(chords)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_named_keys_chords_and_characters() {
        let c = parse_keys("Control+a Enter x").unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].modifiers, 2);
        assert_eq!(c[0].key.code, "KeyA");
        assert_eq!(c[0].key.text, None);
        assert_eq!(c[1].key.key, "Enter");
        assert_eq!(c[1].key.text.as_deref(), Some("\r"));
        assert_eq!(c[2].key.text.as_deref(), Some("x"));
        assert_eq!(parse_keys("Shift+Tab").unwrap()[0].modifiers, 8);
        assert_eq!(parse_keys("F5").unwrap()[0].key.key_code, 116);
    }

    #[test]
    fn rejects_unknown_keys() {
        assert_eq!(parse_keys("Hyper+Q").unwrap_err().code(), "invalid_request");
        assert_eq!(parse_keys("a+b").unwrap_err().code(), "invalid_request");
        assert_eq!(parse_keys("   ").unwrap_err().code(), "invalid_request");
    }
}
