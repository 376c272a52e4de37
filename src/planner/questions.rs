//! The questions a planning session asks, how answers are read (suggestion numbers,
//! confirmations of pre-filled answers), when an answer is too vague to plan from, and where each
//! topic stands.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::analysis::ProjectAnalysis;
use crate::domain::{Answer, Question, QuestionCategory, QuestionId};
use crate::store::NewQuestion;

/// Follow-ups asked for one question before its default assumption is used instead.
pub const MAX_FOLLOW_UPS: usize = 2;

/// One question of the interview, before it is asked.
pub struct Topic {
    /// Stable key, e.g. `verification.tests`.
    pub key: &'static str,
    /// Its area.
    pub category: QuestionCategory,
    /// The question when nothing is known.
    pub text: &'static str,
    /// Why it is asked.
    pub why: &'static str,
    /// Suggested answers (more may be added from the analysis).
    pub suggestions: &'static [&'static str],
    /// The answer must describe something: one word is not enough.
    pub open: bool,
    /// "None" is a real answer here.
    pub accepts_none: bool,
    /// Narrower questions for a vague answer, asked in turn.
    pub follow_ups: [&'static str; MAX_FOLLOW_UPS],
    /// What the plan assumes when the answer stays vague after the follow-ups.
    pub assumption: &'static str,
}

use QuestionCategory::{Architecture, Constraints, Requirements, Scope, Verification};

/// The interview, in the order it is asked.
pub const TOPICS: &[Topic] = &[
    Topic {
        key: "requirements.users",
        category: Requirements,
        text: "Who will use this, and what is the first thing they will do with it?",
        why: "Tasks and their acceptance checks are written from the user's side; knowing who uses it decides the interface.",
        suggestions: &[
            "Developers, calling it as a library",
            "People, through a command line",
            "People, through a web page",
            "Other programs, through an HTTP API",
        ],
        open: true,
        accepts_none: false,
        follow_ups: [
            "Which is closest: a developer, an end user, or another program? And what do they do first?",
            "Name one concrete user (or program) and the single action they take with it.",
        ],
        assumption: "The users are the project's own developers, using it from code.",
    },
    Topic {
        key: "requirements.features",
        category: Requirements,
        text: "What must it do? List the must-have features, one per line or separated by ';'.",
        why: "Each must-have becomes at least one task; what is not listed is not built.",
        suggestions: &[],
        open: true,
        accepts_none: false,
        follow_ups: [
            "If it could do only one thing, which one would still make it worth shipping?",
            "Complete the sentence: 'When this is done, a user can …'",
        ],
        assumption: "One must-have feature: the goal exactly as stated.",
    },
    Topic {
        key: "requirements.errors",
        category: Requirements,
        text: "What should happen when things go wrong (bad input, a missing file, a service down)?",
        why: "Error behaviour is where agents guess most; deciding it up front makes it testable.",
        suggestions: &[
            "A clear error message and a non-zero exit",
            "Retry a few times, then report the error",
            "Log it and carry on with the rest",
        ],
        open: false,
        accepts_none: false,
        follow_ups: [
            "On bad input, should it stop with an error, or skip the bad part and go on?",
            "Pick one: fail fast with a clear message, or keep going and report at the end.",
        ],
        assumption: "Errors stop the operation with a clear message and a non-zero exit.",
    },
    Topic {
        key: "scope.out",
        category: Scope,
        text: "What is explicitly out of scope for this work?",
        why: "Saying what will not be built keeps agents from gold-plating and keeps tasks small.",
        suggestions: &[
            "Nothing in particular",
            "A user interface",
            "Deployment and packaging",
            "Performance tuning",
        ],
        open: false,
        accepts_none: true,
        follow_ups: [
            "Is there anything related that someone might expect, but that should wait?",
            "Should deployment, a UI or performance work be left out? Say which, or 'none'.",
        ],
        assumption: "Nothing beyond the listed features is built.",
    },
    Topic {
        key: "scope.first_delivery",
        category: Scope,
        text: "What is the smallest first version you would accept?",
        why: "The first phase aims at it, so something works end to end early.",
        suggestions: &[
            "Every must-have feature",
            "The first must-have feature, end to end",
            "A working prototype without polish",
        ],
        open: false,
        accepts_none: false,
        follow_ups: [
            "Should the first delivery have every must-have, or just one working end to end?",
            "Pick one: all must-haves, or the first one end to end.",
        ],
        assumption: "The first delivery has every must-have feature.",
    },
    Topic {
        key: "constraints.stack",
        category: Constraints,
        text: "Which language, framework and libraries should it use?",
        why: "Agents must not bring in a second stack; new dependencies are a decision, not an accident.",
        suggestions: &["Python", "Rust", "TypeScript on Node", "Go"],
        open: false,
        accepts_none: false,
        follow_ups: [
            "Which language should the code be written in?",
            "Any language you would rule out, or one your team already knows?",
        ],
        assumption: "The stack the project already uses (Python when it has none).",
    },
    Topic {
        key: "constraints.limits",
        category: Constraints,
        text: "Any hard limits: deadline, budget, versions to support, licences, performance?",
        why: "Limits become constraints every agent is told, and checks the verifier can run.",
        suggestions: &[
            "None",
            "Must support the oldest maintained language version",
            "No new third-party dependencies",
            "Only permissive licences (MIT, Apache-2.0, BSD)",
        ],
        open: false,
        accepts_none: true,
        follow_ups: [
            "Is there a version, platform or licence it must work with? Say 'none' if not.",
            "Any limit on new dependencies or on cost? 'None' is a fine answer.",
        ],
        assumption: "No limits beyond the project's existing ones.",
    },
    Topic {
        key: "constraints.protected",
        category: Constraints,
        text: "Which files, folders or interfaces must not change?",
        why: "Protected paths are never given to an agent to edit; changing them needs a person.",
        suggestions: &[
            "None",
            "The public API",
            "The database schema",
            "CI configuration",
        ],
        open: false,
        accepts_none: true,
        follow_ups: [
            "Is there a public interface or file others rely on? Name it, or say 'none'.",
            "Should CI files, the public API or the schema stay untouched? Say which, or 'none'.",
        ],
        assumption: "Nothing is protected beyond CI and secrets, which the policy guards anyway.",
    },
    Topic {
        key: "architecture.shape",
        category: Architecture,
        text: "Where should the new code live, and which existing parts will it touch?",
        why: "This decides which files each task may edit and lock; parallel agents need it so they never collide.",
        suggestions: &[],
        open: true,
        accepts_none: false,
        follow_ups: [
            "Which folder should the new code go in (for example src/feature/)?",
            "Name one file or folder the work will certainly touch.",
        ],
        assumption: "New code goes in the project's main source folder, with tests beside the existing ones.",
    },
    Topic {
        key: "architecture.data",
        category: Architecture,
        text: "What data does it read, store or send, and in what form?",
        why: "Data shapes and storage are the hardest things to change later, so they are decided first.",
        suggestions: &[
            "No stored data",
            "Files on disk (JSON, CSV)",
            "A SQL database",
            "Calls to an HTTP API",
        ],
        open: false,
        accepts_none: true,
        follow_ups: [
            "Does it keep anything between runs? If so, where?",
            "Pick one: nothing stored, files on disk, or a database.",
        ],
        assumption: "It keeps no data of its own between runs.",
    },
    Topic {
        key: "architecture.dependencies",
        category: Architecture,
        text: "Which external services, APIs or new packages will it need?",
        why: "Installing packages and network access need approval during runs; naming them now avoids stalls.",
        suggestions: &[
            "None: only what the project already uses",
            "A web framework",
            "A database driver",
            "A third-party HTTP API",
        ],
        open: false,
        accepts_none: true,
        follow_ups: [
            "Will it call any service over the network? Say which, or 'none'.",
            "Will it need any package the project does not have yet? Name it, or say 'none'.",
        ],
        assumption: "No new services or packages.",
    },
    Topic {
        key: "verification.tests",
        category: Verification,
        text: "How are the tests run?",
        why: "The verifier runs these itself, outside the agent; a task completes only when they pass.",
        suggestions: &["pytest", "cargo test", "npm test", "go test ./..."],
        open: false,
        accepts_none: false,
        follow_ups: [
            "Which command runs the tests (for example `pytest` or `cargo test`)?",
            "Should agents add tests with the language's standard runner? Name it.",
        ],
        assumption: "Tests are written for and run with the language's standard runner.",
    },
    Topic {
        key: "verification.checks",
        category: Verification,
        text: "Which lint, type and security checks must pass?",
        why: "Checks the verifier runs on every task; an agent cannot mark its own work as done.",
        suggestions: &[
            "ruff check ., mypy ., bandit -r .",
            "cargo clippy, cargo fmt --check",
            "eslint, tsc --noEmit",
            "None beyond the tests",
        ],
        open: false,
        accepts_none: true,
        follow_ups: [
            "Should code pass a linter? Name it, or say 'none'.",
            "Any type checker or security scanner to run? Name it, or say 'none'.",
        ],
        assumption: "Only the tests are checked.",
    },
    Topic {
        key: "verification.success",
        category: Verification,
        text: "How will you judge that it is done? Give success criteria someone could check.",
        why: "Success criteria become the final verification phase; vague criteria cannot be verified.",
        suggestions: &[],
        open: true,
        accepts_none: false,
        follow_ups: [
            "Name one thing you will try by hand when it is finished, and what you expect to see.",
            "What result would make you reject the work?",
        ],
        assumption: "Every must-have feature works and every check passes.",
    },
];

/// The topic with this key.
pub fn topic(key: &str) -> Option<&'static Topic> {
    TOPICS.iter().find(|t| t.key == key)
}

/// What the analysis already knows for a topic: the question as a confirmation, and the answer.
fn known(topic: &Topic, analysis: &ProjectAnalysis) -> Option<(String, String)> {
    let names = |tools: &[&[super::analysis::DetectedTool]]| -> Vec<String> {
        tools
            .iter()
            .flat_map(|list| list.iter())
            .map(|t| t.command.clone())
            .collect()
    };
    let evidence = |tools: &[super::analysis::DetectedTool]| -> String {
        let mut e: Vec<&str> = tools.iter().map(|t| t.evidence.as_str()).collect();
        e.dedup();
        e.join(", ")
    };
    match topic.key {
        "constraints.stack" if !analysis.languages.is_empty() => {
            let stack = analysis.languages.join(", ");
            let text = if analysis.build_systems.is_empty() {
                format!("The project is written in {stack}; keep that stack?")
            } else {
                format!(
                    "The project is written in {stack} (see {}); keep that stack?",
                    evidence(&analysis.build_systems)
                )
            };
            Some((text, stack))
        }
        "verification.tests" if !analysis.test_tools.is_empty() => {
            let tools = names(&[&analysis.test_tools]).join(", ");
            Some((
                format!(
                    "Tests run with {tools} (found in {}); keep that?",
                    evidence(&analysis.test_tools)
                ),
                tools,
            ))
        }
        "verification.checks" => {
            let found: Vec<&[super::analysis::DetectedTool]> = vec![
                &analysis.lint_tools,
                &analysis.type_checkers,
                &analysis.security_tools,
            ];
            let all: Vec<super::analysis::DetectedTool> =
                found.iter().flat_map(|l| l.iter().cloned()).collect();
            if all.is_empty() {
                return None;
            }
            let tools = names(&found).join(", ");
            Some((
                format!(
                    "The project checks code with {tools} (found in {}); should every task pass them?",
                    evidence(&all)
                ),
                tools,
            ))
        }
        "architecture.shape" if !analysis.source_dirs.is_empty() => {
            let mut dirs: Vec<String> = analysis
                .source_dirs
                .iter()
                .take(2)
                .map(|d| format!("{d}/"))
                .collect();
            dirs.extend(analysis.test_dirs.iter().take(1).map(|d| format!("{d}/")));
            let answer = format!("New code in {}", dirs.join(", tests in "));
            Some((
                format!(
                    "Code lives in {}; should the new code go there too? Say which parts it will touch.",
                    dirs.join(" and ")
                ),
                answer,
            ))
        }
        _ => None,
    }
}

/// The questions a new session asks, with what the analysis knows pre-filled for confirmation.
pub fn opening_questions(
    session_id: crate::domain::SessionId,
    analysis: &ProjectAnalysis,
) -> Vec<NewQuestion> {
    TOPICS
        .iter()
        .map(|topic| {
            let mut suggestions: Vec<String> =
                topic.suggestions.iter().map(|s| s.to_string()).collect();
            let (text, prefilled) = match known(topic, analysis) {
                Some((text, answer)) => {
                    suggestions.retain(|s| *s != answer);
                    suggestions.insert(0, answer.clone());
                    (text, Some(answer))
                }
                None => (topic.text.to_string(), None),
            };
            NewQuestion {
                session_id,
                topic: topic.key.into(),
                category: topic.category,
                text,
                why: topic.why.into(),
                suggestions,
                prefilled,
                follow_up_of: None,
            }
        })
        .collect()
}

/// The follow-up that narrows a vague answer to `root`; `nth` is 0 for the first.
pub fn follow_up(root: &Question, nth: usize, reason: &str) -> Option<NewQuestion> {
    let topic = topic(&root.topic)?;
    let text = topic.follow_ups.get(nth)?;
    Some(NewQuestion {
        session_id: root.session_id,
        topic: root.topic.clone(),
        category: root.category,
        text: (*text).into(),
        why: format!("The last answer was too vague to plan from ({reason})."),
        suggestions: root.suggestions.clone(),
        prefilled: None,
        follow_up_of: Some(root.id),
    })
}

const CONFIRMATIONS: &[&str] = &[
    "",
    "y",
    "yes",
    "yep",
    "yeah",
    "ok",
    "okay",
    "sure",
    "keep",
    "keep it",
    "keep that",
    "correct",
    "right",
    "fine",
    "confirm",
    "confirmed",
];

const VAGUE: &[&str] = &[
    "not sure",
    "unsure",
    "idk",
    "i don't know",
    "i dont know",
    "don't know",
    "dont know",
    "dunno",
    "no idea",
    "maybe",
    "perhaps",
    "possibly",
    "whatever",
    "whatever you think",
    "whatever you want",
    "up to you",
    "you decide",
    "you choose",
    "your call",
    "your choice",
    "anything",
    "any",
    "don't care",
    "dont care",
    "doesn't matter",
    "does not matter",
    "tbd",
    "todo",
    "?",
    "??",
    "...",
    "hmm",
    "something",
    "stuff",
    "etc",
    "same",
    "the usual",
    "idc",
];

const HEDGES: &[&str] = &[
    "not sure", "maybe", "i guess", "probably", "idk", "perhaps", "dunno",
];

const NONE: &[&str] = &[
    "none",
    "no",
    "nothing",
    "n/a",
    "na",
    "nope",
    "nothing in particular",
];

fn normalize(text: &str) -> String {
    text.trim()
        .trim_end_matches(['.', '!'])
        .trim()
        .to_lowercase()
        .replace('’', "'")
}

/// What an answer means once suggestion numbers and confirmations are read: `"2"` picks the
/// second suggestion; "yes" (or nothing) to a pre-filled question accepts the pre-filled answer.
pub fn interpret(question: &Question, raw: &str) -> String {
    let trimmed = raw.trim();
    if let Some(prefilled) = &question.prefilled
        && CONFIRMATIONS.contains(&normalize(trimmed).as_str())
    {
        return prefilled.clone();
    }
    if let Ok(n) = trimmed.parse::<usize>()
        && let Some(choice) = n.checked_sub(1).and_then(|i| question.suggestions.get(i))
    {
        return choice.clone();
    }
    trimmed.to_string()
}

/// Why an (interpreted) answer to `question` is too vague to plan from, or `None` when it will do.
pub fn vagueness(question: &Question, answer: &str) -> Option<&'static str> {
    let topic = topic(&question.topic)?;
    let text = normalize(answer);
    if text.is_empty() {
        return Some("the answer is empty");
    }
    if VAGUE.contains(&text.as_str()) {
        return Some("it leaves the decision open");
    }
    let words = text.split_whitespace().count();
    if words <= 4 && HEDGES.iter().any(|h| text.starts_with(h)) {
        return Some("it is a guess rather than an answer");
    }
    if NONE.contains(&text.as_str()) {
        return (!topic.accepts_none).then_some("this question needs a real answer, not 'none'");
    }
    let names_a_path = text.contains('/') || text.contains('.');
    if topic.open
        && words == 1
        && !names_a_path
        && !question.suggestions.iter().any(|s| normalize(s) == text)
    {
        return Some("one word is not enough for an open question");
    }
    None
}

/// Where one topic of the interview stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TopicState {
    /// The topic's key.
    pub topic: String,
    /// Its area.
    pub category: QuestionCategory,
    /// The question first asked for it.
    pub question_id: QuestionId,
    /// Its text.
    pub question: String,
    /// The answer the plan uses, once there is one.
    pub answer: Option<String>,
    /// When the answers stayed vague after every follow-up, what the plan assumes instead.
    pub assumed: Option<String>,
    /// The question to ask now, when the topic is still open.
    pub waiting_on: Option<QuestionId>,
}

impl TopicState {
    /// The answer, or the assumption that replaces it.
    pub fn value(&self) -> Option<&str> {
        self.answer.as_deref().or(self.assumed.as_deref())
    }
}

/// Where every topic stands, from the session's questions and answers (newest answer counts).
pub fn topic_states(questions: &[Question], answers: &[Answer]) -> Vec<TopicState> {
    let latest = |id: QuestionId| -> Option<&Answer> {
        answers
            .iter()
            .filter(|a| a.question_id == id)
            .max_by_key(|a| a.id.0)
    };
    questions
        .iter()
        .filter(|q| q.follow_up_of.is_none())
        .map(|root| {
            let chain: Vec<&Question> = std::iter::once(root)
                .chain(questions.iter().filter(|q| q.follow_up_of == Some(root.id)))
                .collect();
            // The newest answer anywhere in the chain that is clear enough wins.
            let clear = chain
                .iter()
                .filter_map(|q| latest(q.id).map(|a| (q, a)))
                .filter(|(q, a)| vagueness(q, &a.text).is_none())
                .max_by_key(|(_, a)| a.id.0)
                .map(|(_, a)| a.text.clone());
            let unanswered = chain.iter().find(|q| latest(q.id).is_none()).map(|q| q.id);
            let exhausted = clear.is_none() && unanswered.is_none() && chain.len() > MAX_FOLLOW_UPS;
            TopicState {
                topic: root.topic.clone(),
                category: root.category,
                question_id: root.id,
                question: root.text.clone(),
                assumed: exhausted
                    .then(|| topic(&root.topic).map(|t| t.assumption.to_string()))
                    .flatten(),
                waiting_on: if clear.is_some() || exhausted {
                    None
                } else {
                    unanswered
                },
                answer: clear,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AnswerId, SessionId, Timestamp};

    fn question(id: i64, topic: &str, prefilled: Option<&str>) -> Question {
        let t = super::topic(topic).unwrap();
        Question {
            id: QuestionId(id),
            session_id: SessionId(1),
            topic: topic.into(),
            category: t.category,
            text: t.text.into(),
            why: t.why.into(),
            suggestions: t.suggestions.iter().map(|s| s.to_string()).collect(),
            prefilled: prefilled.map(String::from),
            follow_up_of: None,
            ordinal: id as u32,
            created_at: Timestamp::now(),
        }
    }

    #[test]
    fn topics_are_ten_to_fifteen_with_unique_keys_and_every_category() {
        assert!((10..=15).contains(&TOPICS.len()));
        let keys: std::collections::BTreeSet<_> = TOPICS.iter().map(|t| t.key).collect();
        assert_eq!(keys.len(), TOPICS.len());
        for category in QuestionCategory::ALL {
            assert!(TOPICS.iter().any(|t| t.category == *category), "{category}");
        }
        for t in TOPICS {
            assert!(t.key.starts_with(t.category.as_str()), "{}", t.key);
        }
    }

    #[test]
    fn vague_answers_are_recognised_and_real_ones_are_not() {
        let features = question(1, "requirements.features", None);
        for vague in [
            "",
            "  ",
            "not sure",
            "IDK",
            "maybe",
            "whatever you think",
            "Up to you.",
            "login",
            "none",
            "maybe later",
        ] {
            assert!(vagueness(&features, vague).is_some(), "{vague:?}");
        }
        for clear in [
            "Users can log in with a password",
            "export to CSV; import from CSV",
        ] {
            assert_eq!(vagueness(&features, clear), None, "{clear:?}");
        }
        let scope = question(2, "scope.out", None);
        assert_eq!(
            vagueness(&scope, "none"),
            None,
            "none is a real answer to scope"
        );
        assert_eq!(
            vagueness(&scope, "UI"),
            None,
            "one word is fine when the question is not open"
        );
    }

    #[test]
    fn numbers_pick_suggestions_and_yes_confirms_a_prefill() {
        let tests = question(1, "verification.tests", Some("pytest"));
        assert_eq!(interpret(&tests, "yes"), "pytest");
        assert_eq!(interpret(&tests, ""), "pytest");
        assert_eq!(interpret(&tests, "3"), "npm test");
        assert_eq!(interpret(&tests, "9"), "9", "out of range stays as typed");
        assert_eq!(interpret(&tests, "tox"), "tox");
        let unknown = question(2, "verification.tests", None);
        assert_eq!(
            interpret(&unknown, "yes"),
            "yes",
            "nothing to confirm without a prefill"
        );
    }

    #[test]
    fn a_topic_waits_on_follow_ups_then_assumes() {
        let root = question(1, "verification.success", None);
        let mut f1 = question(2, "verification.success", None);
        f1.follow_up_of = Some(root.id);
        let mut f2 = question(3, "verification.success", None);
        f2.follow_up_of = Some(root.id);
        let answer = |id: i64, q: &Question, text: &str| Answer {
            id: AnswerId(id),
            question_id: q.id,
            text: text.into(),
            created_at: Timestamp::now(),
        };
        let state = |qs: &[Question], ans: &[Answer]| topic_states(qs, ans).remove(0);

        let s = state(std::slice::from_ref(&root), &[]);
        assert_eq!((s.waiting_on, s.answer.as_deref()), (Some(root.id), None));
        let vague = [answer(1, &root, "idk")];
        let s = state(&[root.clone(), f1.clone()], &vague);
        assert_eq!(s.waiting_on, Some(f1.id));
        let all_vague = [
            answer(1, &root, "idk"),
            answer(2, &f1, "dunno"),
            answer(3, &f2, ""),
        ];
        let s = state(&[root.clone(), f1.clone(), f2.clone()], &all_vague);
        assert_eq!(s.waiting_on, None);
        assert!(s.assumed.is_some() && s.answer.is_none());
        // A clear revision of the root replaces the assumption.
        let revised = [
            all_vague.as_slice(),
            &[answer(4, &root, "The report opens in a browser")],
        ]
        .concat();
        let s = state(&[root, f1, f2], &revised);
        assert_eq!(s.answer.as_deref(), Some("The report opens in a browser"));
        assert_eq!(s.assumed, None);
    }
}
