//! A small site on 127.0.0.1 whose pages each cover one distinct topic (gardening, mortgages,
//! eclipses, bread, sleep, backups, dog training, tyres, plus a code reference page), with the
//! usual navigation and footer around the content. The semantic-search tests ask questions in
//! other words than the pages use.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// A topic page: its path, title, and its sections (heading, paragraphs).
pub struct Topic {
    /// Path on the site.
    pub path: &'static str,
    /// `<title>` and `<h1>`.
    pub title: &'static str,
    /// `(h2, body)`: the body is HTML.
    pub sections: &'static [(&'static str, &'static str)],
}

/// Every topic page.
pub const TOPICS: &[Topic] = &[
    Topic {
        path: "/garden/tomatoes",
        title: "Growing tomatoes",
        sections: &[
            ("Starting indoors", "<p>Sow tomato seeds in trays six to eight weeks before the last expected frost. Keep the compost warm, around twenty degrees, and give the sprouts plenty of light so they grow sturdy rather than leggy.</p>"),
            ("Transplanting", "<p>Harden the plants off over a week, then set them into the bed once nights stay above ten degrees. Bury the stems deeply: tomatoes root along the buried stem, which makes them stronger.</p><p>Stake or cage every plant, water at the base in the morning, and feed with a potash-rich fertiliser once the first trusses set fruit.</p>"),
        ],
    },
    Topic {
        path: "/finance/mortgage",
        title: "Understanding your mortgage",
        sections: &[
            ("Amortization", "<p>A mortgage is repaid in instalments that combine interest and principal. Early on, most of each instalment is interest; as the balance falls, more of it goes to the principal.</p>"),
            ("Refinancing", "<p>Refinancing replaces the existing mortgage with a new one, ideally at a lower interest rate. Compare the closing costs with the savings: if the break-even point arrives before you expect to sell the property, refinancing usually pays off. Extending the term reduces each instalment but raises the total interest.</p>"),
        ],
    },
    Topic {
        path: "/astronomy/eclipse",
        title: "Solar eclipses",
        sections: &[
            ("What happens", "<p>A solar eclipse occurs when the lunar disk passes between Earth and our star and casts a shadow on the planet. During totality the corona becomes visible and the temperature drops noticeably.</p>"),
            ("Safe viewing", "<p>Never observe the partial phases without certified filters: ordinary sunglasses do not protect the retina, and the damage is painless and permanent. Pinhole projectors are a cheap alternative.</p>"),
        ],
    },
    Topic {
        path: "/kitchen/sourdough",
        title: "Baking sourdough",
        sections: &[
            ("The starter", "<p>A sourdough starter is a culture of wild yeast and lactobacilli kept alive with regular feedings of flour and water. It is ready when it doubles within a few hours of feeding.</p>"),
            ("Shaping and baking", "<p>Mix the dough, let it ferment in bulk with stretch-and-fold sets, shape a boule and proof it overnight in the fridge. Bake in a preheated Dutch oven, lid on for twenty minutes, then uncovered until the crust is deeply browned.</p>"),
        ],
    },
    Topic {
        path: "/health/sleep",
        title: "Sleep hygiene",
        sections: &[
            ("Habits that help", "<p>Insomnia often improves with a consistent bedtime, a dark and cool bedroom, and no caffeine after midday. Screens emit blue light that delays melatonin, so put phones away an hour before bed.</p>"),
            ("When to get help", "<p>If restless nights persist for more than three weeks, or snoring comes with gasping, see a doctor: sleep apnoea is common and treatable.</p>"),
        ],
    },
    Topic {
        path: "/it/backups",
        title: "Backing up your data",
        sections: &[
            ("The 3-2-1 rule", "<p>Keep three copies of important files, on two different kinds of storage, with one copy offsite. Cloud storage counts as offsite, as long as it keeps versioned history.</p>"),
            ("Test restores", "<p>A backup you have never restored is a hope, not a plan. Ransomware encrypts attached drives too, so keep one copy disconnected and rehearse recovering a whole disk twice a year.</p>"),
        ],
    },
    Topic {
        path: "/pets/dog-training",
        title: "Training a puppy",
        sections: &[
            ("Positive reinforcement", "<p>Reward the behaviour you want the instant it happens with a treat or praise. Short sessions of five minutes work better than long ones, and every family member should use the same cue words.</p>"),
            ("Leash manners", "<p>When the puppy pulls, stop walking; move on only when the leash is slack. Consistency teaches it that pulling never gets it anywhere.</p>"),
        ],
    },
    Topic {
        path: "/auto/tyres",
        title: "Tyre care",
        sections: &[
            ("Pressure", "<p>Check tyre pressure monthly with the tyres cold, using the figures on the sticker inside the driver's door. Under-inflated tyres wear on the shoulders and raise fuel consumption.</p>"),
            ("Tread", "<p>Replace tyres when the tread depth reaches 3 mm for good grip in rain; the legal minimum in many countries is 1.6 mm. Rotate them every 10,000 km so they wear evenly.</p>"),
        ],
    },
    Topic {
        path: "/reference/http-client",
        title: "HTTP client reference",
        sections: &[
            ("Making a request", "<p>Create one client and reuse it: it keeps a connection pool.</p><pre><code class=\"language-rust\">let client = reqwest::Client::new();\nlet body = client.get(\"https://example.com\").send().await?.text().await?;</code></pre>"),
            ("Timeouts", "<p>Set a timeout on the client builder so that a stalled server cannot block the caller forever.</p>"),
        ],
    },
];

fn layout(title: &str, body: &str) -> String {
    let nav: String = TOPICS
        .iter()
        .map(|t| format!("<li><a href=\"{}\">{}</a></li>", t.path, t.title))
        .collect();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\
         <header><nav><ul>{nav}</ul></nav></header>\
         <main><article>{body}</article></main>\
         <footer><p>Copyright Example Knowledge Base. All rights reserved. Privacy policy. Terms of use.</p></footer>\
         </body></html>"
    )
}

/// The HTML of a topic page.
pub fn page_html(t: &Topic) -> String {
    let mut body = format!("<h1>{}</h1>", t.title);
    for (h, html) in t.sections {
        body.push_str(&format!("<section><h2>{h}</h2>{html}</section>"));
    }
    layout(t.title, &body)
}

async fn index() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        layout(
            "Example Knowledge Base",
            "<h1>Example Knowledge Base</h1><p>Articles on many subjects.</p>",
        ),
    )
}

async fn topic(Path(path): Path<String>) -> impl IntoResponse {
    let want = format!("/{path}");
    match TOPICS.iter().find(|t| t.path == want) {
        Some(t) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page_html(t),
        ),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            layout("Not found", "<h1>Not found</h1>"),
        ),
    }
}

/// Serve the site on a free port of 127.0.0.1; returns `http://127.0.0.1:PORT`.
pub async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/", get(index))
        .route("/{*path}", get(topic));
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    base
}
