//! The screen content an agent reads: a compact, bounded summary of the page.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Limits on the size of the screen content.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
pub struct ScreenOptions {
    /// Most interactive elements to list (those in the viewport first). Default 60, at most 300.
    pub max_elements: usize,
    /// Most characters of visible text. Default 3000, at most 20000.
    pub max_text_chars: usize,
    /// Include a JPEG screenshot of the viewport.
    pub include_screenshot: bool,
}

impl Default for ScreenOptions {
    fn default() -> Self {
        Self {
            max_elements: 60,
            max_text_chars: 3000,
            include_screenshot: false,
        }
    }
}

/// A heading on the page.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Heading {
    /// 1 to 6.
    pub level: u8,
    /// Its text.
    pub text: String,
}

/// An element an agent can act on. `ref` stays the same for the same element while the document
/// lives; pass it as `ref` to `execute_action`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Element {
    /// Reference for `execute_action`.
    #[serde(rename = "ref")]
    pub element_ref: String,
    /// ARIA role (or the implicit one).
    pub role: String,
    /// Tag name.
    pub tag: String,
    /// Accessible name or label.
    pub name: String,
    /// Whether it is inside the viewport now.
    pub in_viewport: bool,
    /// Centre x in viewport CSS pixels.
    pub x: i64,
    /// Centre y in viewport CSS pixels.
    pub y: i64,
    /// Input type.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub input_type: Option<String>,
    /// Current value (passwords are masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Link target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// Checkbox or radio state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<bool>,
    /// Disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Has the keyboard focus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focused: Option<bool>,
}

/// A form field.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct FormField {
    /// Reference for `execute_action`.
    #[serde(rename = "ref")]
    pub element_ref: String,
    /// The field's name attribute.
    pub name: String,
    /// Its label.
    pub label: String,
    /// Input type or tag.
    #[serde(rename = "type")]
    pub field_type: String,
    /// Current value (passwords are masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Checkbox or radio state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<bool>,
    /// Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

/// A form with its visible fields.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Form {
    /// Reference of the form element.
    #[serde(rename = "ref")]
    pub element_ref: String,
    /// Name or id.
    pub name: String,
    /// Where it submits.
    pub action: String,
    /// `get` or `post`.
    pub method: String,
    /// Visible fields.
    pub fields: Vec<FormField>,
}

/// Scroll offsets and limits.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ScrollInfo {
    /// Horizontal offset.
    pub x: i64,
    /// Vertical offset.
    pub y: i64,
    /// Largest horizontal offset.
    pub max_x: i64,
    /// Largest vertical offset.
    pub max_y: i64,
}

/// What was left out to keep the content small.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Truncation {
    /// Interactive elements not listed.
    pub elements_omitted: usize,
    /// Whether the text was cut.
    pub text: bool,
}

/// A screenshot.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Screenshot {
    /// `image/jpeg`.
    pub mime_type: String,
    /// Base64 of the image bytes.
    pub data: String,
}

/// The screen content of a session.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ScreenContent {
    /// The session's room.
    #[serde(default)]
    pub room_name: String,
    /// URL.
    pub url: String,
    /// Title.
    pub title: String,
    /// `loading`, `interactive` or `complete`.
    pub ready_state: String,
    /// Viewport.
    pub viewport: platform::config::Viewport,
    /// Scroll position.
    pub scroll: ScrollInfo,
    /// Visible headings.
    pub headings: Vec<Heading>,
    /// Interactive elements.
    pub elements: Vec<Element>,
    /// Forms.
    pub forms: Vec<Form>,
    /// Visible text.
    pub text: String,
    /// What was left out.
    pub truncated: Truncation,
    /// A screenshot, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screenshot: Option<Screenshot>,
}
