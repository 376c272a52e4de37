//! `orchestrator plan new` and `plan resume`: the planning interview in the terminal, one
//! question at a time, or non-interactively from an answers file. Every answer is stored as it is
//! given, so Ctrl-C (or a closed stdin) keeps the session for `plan resume`.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use tokio::sync::mpsc::UnboundedReceiver;

use super::render;
use crate::Orchestrator;
use crate::domain::{DraftSource, PlanContent, Question, SessionId, SessionStatus};
use crate::orchestrator::DecisionTarget;
use crate::planner::{NewDecision, SessionView, questions};

/// Where a draft comes from when the session reaches design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum DraftChoice {
    /// Ask the configured agent (`[agent] command`); the skeleton if it cannot answer.
    Agent,
    /// The offline skeleton built from the answers.
    Skeleton,
}

/// How the interview runs.
#[derive(Debug, Clone)]
pub(super) struct InterviewOptions {
    /// Answers by topic, instead of asking in the terminal.
    pub answers: Option<PathBuf>,
    /// Where the draft comes from.
    pub draft: DraftChoice,
    /// A draft to submit instead (JSON, the plan_submit schema).
    pub draft_file: Option<PathBuf>,
    /// Approve the reviewed draft without asking.
    pub approve: bool,
    /// The plan's title on approval.
    pub title: Option<String>,
}

/// One answer per line from the terminal, or the answers file's queue per topic.
enum Answers {
    Terminal(UnboundedReceiver<String>),
    File(BTreeMap<String, VecDeque<String>>),
}

/// What the interview reads before it starts, so that a file it cannot use stops it before a
/// session is made.
pub(super) struct Inputs {
    answers: Option<BTreeMap<String, VecDeque<String>>>,
    draft: Option<(PathBuf, PlanContent)>,
}

/// Reads the answers file and the draft file the options name.
pub(super) fn read_inputs(options: &InterviewOptions) -> anyhow::Result<Inputs> {
    Ok(Inputs {
        answers: options.answers.as_deref().map(load_answers).transpose()?,
        draft: match &options.draft_file {
            Some(path) => Some((path.clone(), read_draft(path)?)),
            None => None,
        },
    })
}

/// An answers file: topic → answer, or topic → [answer, follow-up answers…]; a topic's dotted
/// key may also be written as tables (`[requirements]` then `users = "…"`), and numbers and
/// true/false stand for themselves (`"requirements.errors" = 1` picks the first suggestion).
fn load_answers(path: &Path) -> anyhow::Result<BTreeMap<String, VecDeque<String>>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the answers file {}", path.display()))?;
    let raw: serde_json::Value = if path.extension().and_then(|e| e.to_str()) == Some("toml") {
        let table: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid answers file", path.display()))?;
        serde_json::to_value(table)?
    } else {
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a valid answers file (a JSON object of topic → answer)",
                path.display()
            )
        })?
    };
    let serde_json::Value::Object(raw) = raw else {
        bail!(
            "{} is not a valid answers file: it must be an object of topic → answer",
            path.display()
        );
    };
    let mut answers = BTreeMap::new();
    flatten_answers(path, "", raw, &mut answers)?;
    Ok(answers)
}

fn flatten_answers(
    path: &Path,
    prefix: &str,
    object: serde_json::Map<String, serde_json::Value>,
    answers: &mut BTreeMap<String, VecDeque<String>>,
) -> anyhow::Result<()> {
    use serde_json::Value;
    let scalar = |value: &Value| match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_owned()),
        _ => None,
    };
    for (key, value) in object {
        let topic = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        let queue: VecDeque<String> = match value {
            Value::Object(inner) if questions::topic(&topic).is_none() => {
                flatten_answers(path, &topic, inner, answers)?;
                continue;
            }
            Value::Array(items) => {
                items
                    .iter()
                    .map(scalar)
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "{}: the answers to `{topic}` must be text or numbers",
                            path.display()
                        )
                    })?
            }
            other => VecDeque::from([scalar(&other).ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: the answer to `{topic}` must be text, a number, or a list of them",
                    path.display()
                )
            })?]),
        };
        if questions::topic(&topic).is_none() {
            let known: Vec<&str> = questions::TOPICS.iter().map(|t| t.key).collect();
            bail!(
                "{}: `{topic}` is not a question topic; the topics are {}",
                path.display(),
                known.join(", ")
            );
        }
        answers.insert(topic, queue);
    }
    Ok(())
}

/// Lines from stdin, read on their own thread so Ctrl-C can interrupt a pending read.
fn terminal_lines() -> UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut line = String::new();
        loop {
            line.clear();
            match stdin.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx
                        .send(line.trim_end_matches(['\n', '\r']).to_string())
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// Why the interview stopped before the end.
enum Stop {
    Interrupted,
    InputClosed,
}

impl Answers {
    /// The next line from the terminal, or why there is none.
    async fn line(&mut self, prompt: &str) -> Result<String, Stop> {
        let Answers::Terminal(lines) = self else {
            return Err(Stop::InputClosed);
        };
        out!("{prompt}");
        let _ = std::io::stdout().flush();
        tokio::select! {
            line = lines.recv() => line.ok_or(Stop::InputClosed),
            _ = tokio::signal::ctrl_c() => Err(Stop::Interrupted),
        }
    }
}

/// Runs a session from where it stands to approval (or to where the user stops).
pub(super) async fn run(
    orchestrator: &Orchestrator,
    mut view: SessionView,
    options: InterviewOptions,
    inputs: Inputs,
) -> anyhow::Result<()> {
    let id = view.session.id;
    let mut answers = match inputs.answers {
        Some(file) => Answers::File(file),
        None => Answers::Terminal(terminal_lines()),
    };
    outln!("Planning session {id}: {}", view.session.goal);
    for line in view.analysis.summary() {
        outln!("  {line}");
    }
    outln!(
        "Every answer is saved as you go. Ctrl-C keeps the session: `orchestrator plan resume {id}` continues it."
    );

    let result = drive(
        orchestrator,
        &mut view,
        &mut answers,
        &options,
        inputs.draft,
    )
    .await;
    match result {
        Ok(()) => Ok(()),
        Err(Interrupt::Stop(stop)) => {
            let why = match stop {
                Stop::Interrupted => "Interrupted",
                Stop::InputClosed => "No more input",
            };
            outln!();
            outln!("{why}. Session {id} is kept: `orchestrator plan resume {id}` continues it.");
            match stop {
                // The reading thread may still block on stdin: leave without waiting for it.
                Stop::Interrupted => std::process::exit(130),
                Stop::InputClosed => bail!("the interview for session {id} is not finished"),
            }
        }
        Err(Interrupt::Error(e)) => Err(e),
    }
}

enum Interrupt {
    Stop(Stop),
    Error(anyhow::Error),
}

impl From<Stop> for Interrupt {
    fn from(stop: Stop) -> Self {
        Interrupt::Stop(stop)
    }
}

impl From<anyhow::Error> for Interrupt {
    fn from(e: anyhow::Error) -> Self {
        Interrupt::Error(e)
    }
}

impl From<crate::Error> for Interrupt {
    fn from(e: crate::Error) -> Self {
        Interrupt::Error(e.into())
    }
}

async fn drive(
    orchestrator: &Orchestrator,
    view: &mut SessionView,
    answers: &mut Answers,
    options: &InterviewOptions,
    mut draft_file: Option<(PathBuf, PlanContent)>,
) -> Result<(), Interrupt> {
    let id = view.session.id;
    loop {
        match view.session.status {
            SessionStatus::GatheringRequirements | SessionStatus::Researching => {
                let question = view.next_questions.first().cloned().ok_or_else(|| {
                    anyhow::anyhow!("session {id} waits for answers but has no open question")
                })?;
                let answer = ask(view, &question, answers).await?;
                let report = orchestrator
                    .answer_questions(id, vec![(question.id, answer)])
                    .await?;
                if let Some(vague) = report.recorded.first().and_then(|r| r.vague.as_deref()) {
                    outln!("  That leaves too much open ({vague}).");
                }
                if report.follow_ups.is_empty()
                    && report.recorded.first().is_some_and(|r| r.vague.is_some())
                    && let Some(topic) = report
                        .session
                        .topics
                        .iter()
                        .find(|t| t.assumed.is_some() && t.question_id == root_of(&question))
                {
                    outln!(
                        "  I'll assume: {}",
                        topic.assumed.as_deref().unwrap_or_default()
                    );
                }
                *view = report.session;
            }
            SessionStatus::Designing => {
                let report = match draft_file.take() {
                    Some((path, content)) => {
                        outln!("\nSubmitting the draft in {} …", path.display());
                        let report = orchestrator
                            .submit_draft(
                                id,
                                Some((DraftSource::File, content)),
                                &format!("from {}", path.display()),
                            )
                            .await?;
                        if !report.accepted {
                            // The user's own plan, or none: never one they did not write.
                            outln!(
                                "\n{}",
                                render::draft(&report.draft, &report.session.dependency_order)
                            );
                            return Err(anyhow::anyhow!(
                                "the draft in {} has {} problem(s), listed above; nothing was approved — fix the file and submit it with `orchestrator plan submit {id} {}`",
                                path.display(),
                                report.draft.problems.len(),
                                path.display()
                            )
                            .into());
                        }
                        report
                    }
                    None if options.draft == DraftChoice::Agent
                        && view
                            .draft
                            .as_ref()
                            .is_none_or(|d| d.source != DraftSource::Agent) =>
                    {
                        outln!("\nAsking the agent for a draft plan …");
                        orchestrator.draft_with_agent(id).await?
                    }
                    None => {
                        let note = match &view.draft {
                            Some(d) if !d.problems.is_empty() => format!(
                                "skeleton: draft {} had {} problem(s)",
                                d.number,
                                d.problems.len()
                            ),
                            _ => "skeleton built from the answers".into(),
                        };
                        orchestrator.submit_draft(id, None, &note).await?
                    }
                };
                let draft = &report.draft;
                outln!(
                    "\n{}",
                    render::draft(draft, &report.session.dependency_order)
                );
                if !report.accepted && draft.source == DraftSource::Skeleton {
                    return Err(anyhow::anyhow!(
                        "the skeleton draft did not validate; revise the answers it names (`orchestrator plan session {id}`)"
                    )
                    .into());
                }
                *view = report.session;
            }
            SessionStatus::Reviewing => {
                if options.approve {
                    return approve(orchestrator, id, options.title.as_deref()).await;
                }
                if matches!(answers, Answers::File(_)) {
                    outln!(
                        "Draft ready for review. Approve it with `orchestrator plan approve {id}`, or submit a changed one with `orchestrator plan submit {id} FILE`."
                    );
                    return Ok(());
                }
                match review(orchestrator, view, answers).await? {
                    Review::Approve => {
                        return approve(orchestrator, id, options.title.as_deref()).await;
                    }
                    Review::Later => {
                        outln!("Session {id} is kept for later: `orchestrator plan resume {id}`.");
                        return Ok(());
                    }
                    Review::Changed(next) => *view = *next,
                }
            }
            SessionStatus::Approved | SessionStatus::Abandoned => {
                outln!("{}", render::session(view));
                return Ok(());
            }
        }
    }
}

fn root_of(question: &Question) -> crate::domain::QuestionId {
    question.follow_up_of.unwrap_or(question.id)
}

/// Asks one question: in the terminal, or from the answers file.
async fn ask(
    view: &SessionView,
    question: &Question,
    answers: &mut Answers,
) -> Result<String, Interrupt> {
    if let Answers::File(queues) = answers {
        let answer = queues
            .get_mut(&question.topic)
            .and_then(VecDeque::pop_front);
        return match (answer, &question.prefilled) {
            (Some(answer), _) => Ok(answer),
            (None, Some(_)) if question.follow_up_of.is_none() => Ok("yes".into()),
            (None, _) => Err(anyhow::anyhow!(
                "the answers file has no {}answer for `{}`: \"{}\"; add it, or run `orchestrator plan resume {}` to answer in the terminal",
                if question.follow_up_of.is_some() { "follow-up " } else { "" },
                question.topic,
                question.text,
                view.session.id
            )
            .into()),
        };
    }
    let answered = view
        .topics
        .iter()
        .filter(|t| t.answer.is_some() || t.assumed.is_some())
        .count();
    outln!();
    outln!(
        "[{}/{}] {} · {}",
        answered + 1,
        view.topics.len(),
        capitalised(question.category.as_str()),
        question.text
    );
    outln!("      Why: {}", question.why);
    for (n, suggestion) in question.suggestions.iter().enumerate() {
        outln!("      {}) {suggestion}", n + 1);
    }
    let hint = match (&question.prefilled, question.suggestions.is_empty()) {
        (Some(prefilled), _) => format!("Enter keeps \"{prefilled}\"; or type your answer"),
        (None, false) => "A number picks a suggestion; or type your answer".into(),
        (None, true) => "Type your answer".into(),
    };
    outln!("      ({hint})");
    Ok(answers.line("> ").await?)
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn read_draft(path: &Path) -> anyhow::Result<PlanContent> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the draft {}", path.display()))?;
    let mut track = serde_path_to_error::Track::new();
    let mut de = serde_json::Deserializer::from_str(&text);
    let value = serde_path_to_error::Deserializer::new(&mut de, &mut track);
    serde::Deserialize::deserialize(value).map_err(|e: serde_json::Error| {
        anyhow::anyhow!(
            "{} is not a valid draft at `{}`: {e}",
            path.display(),
            track.path()
        )
    })
}

/// Reads a draft file for `plan submit`.
pub(super) fn draft_from_file(path: &Path) -> anyhow::Result<PlanContent> {
    read_draft(path)
}

async fn approve(
    orchestrator: &Orchestrator,
    id: SessionId,
    title: Option<&str>,
) -> Result<(), Interrupt> {
    let plan = orchestrator.approve_plan(id, title).await?;
    outln!(
        "Approved: plan {} \"{}\", version {}. `orchestrator plan show {}` shows it.",
        plan.plan.id,
        plan.plan.title,
        plan.version.version,
        plan.plan.id
    );
    Ok(())
}

enum Review {
    Approve,
    Later,
    Changed(Box<SessionView>),
}

/// Asks what to do with a reviewed draft until the user approves, stops, or changes something.
async fn review(
    orchestrator: &Orchestrator,
    view: &SessionView,
    answers: &mut Answers,
) -> Result<Review, Interrupt> {
    let id = view.session.id;
    loop {
        outln!("\n[a] approve   [r] revise an answer   [d] add a decision   [q] keep for later");
        outln!(
            "(or submit an edited draft: `orchestrator plan session {id} --json`, then `orchestrator plan submit {id} FILE`)"
        );
        let choice = answers.line("> ").await?;
        match choice.trim().to_lowercase().as_str() {
            "a" | "approve" => return Ok(Review::Approve),
            "q" | "quit" | "later" => return Ok(Review::Later),
            "r" | "revise" => {
                out!("{}", render::session(view));
                let pick = answers.line("Which answer (number)? ").await?;
                let Some(topic) = pick
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|i| view.topics.get(i))
                else {
                    outln!("  No answer has that number.");
                    continue;
                };
                outln!("{}", topic.question);
                let text = answers.line("New answer> ").await?;
                let report = orchestrator
                    .answer_questions(id, vec![(topic.question_id, text)])
                    .await?;
                return Ok(Review::Changed(Box::new(report.session)));
            }
            "d" | "decision" => {
                let what = answers.line("What was decided? ").await?;
                let why = answers.line("Why? ").await?;
                let rejected = answers
                    .line("Rejected alternative (\"option: reason\", or Enter for none)? ")
                    .await?;
                let rejected_alternatives = rejected
                    .split_once(':')
                    .map(|(option, reason)| crate::domain::RejectedAlternative {
                        option: option.trim().into(),
                        reason: reason.trim().into(),
                    })
                    .into_iter()
                    .collect();
                let decision = NewDecision {
                    what,
                    why,
                    rejected_alternatives,
                };
                match orchestrator
                    .add_decision(DecisionTarget::Session(id), decision)
                    .await
                {
                    Ok(crate::orchestrator::DecisionRecorded::Draft(report)) => {
                        outln!(
                            "\n{}",
                            render::draft(&report.draft, &report.session.dependency_order)
                        );
                        return Ok(Review::Changed(Box::new(report.session)));
                    }
                    Ok(crate::orchestrator::DecisionRecorded::Plan(_)) => {
                        return Err(
                            anyhow::anyhow!("session {id} has no draft to decide on").into()
                        );
                    }
                    Err(e) => outln!("  {e}"),
                }
            }
            other => outln!("  \"{other}\" is not one of a, r, d, q."),
        }
    }
}
