//! Verification reports, their check results and findings. Reports are written once.

use rusqlite::{Transaction, params};

use super::{Store, found, parse_col, to_json, ts_col};
use crate::domain::{
    CheckResult, Finding, ProjectId, ReportId, RunId, Timestamp, VerificationReport,
};
use crate::error::Result;

/// A report to store.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// The project verified.
    pub project_id: ProjectId,
    /// The run verified, if any.
    pub run_id: Option<RunId>,
    /// The commit verified.
    pub commit: Option<String>,
    /// Whether the tree had uncommitted changes.
    pub dirty: bool,
    /// The commit the tampering checks compared against.
    pub base_commit: Option<String>,
    /// When the checks started.
    pub started_at: Timestamp,
    /// When they ended.
    pub finished_at: Timestamp,
    /// The results; the report passes when every one passed.
    pub checks: Vec<CheckResult>,
}

fn opt_json_col<T: serde::de::DeserializeOwned>(
    row: &rusqlite::Row<'_>,
    idx: usize,
) -> rusqlite::Result<Option<T>> {
    let text: Option<String> = row.get(idx)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

fn load_report(tx: &Transaction<'_>, id: ReportId) -> Result<VerificationReport> {
    let mut report = found(
        tx.query_row(
            "SELECT project_id, run_id, commit_sha, passed, started_at, finished_at, dirty, base_commit
             FROM verification_reports WHERE id = ?1",
            [id.0],
            |row| {
                Ok(VerificationReport {
                    id,
                    project_id: ProjectId(row.get(0)?),
                    run_id: row.get::<_, Option<i64>>(1)?.map(RunId),
                    commit: row.get(2)?,
                    passed: row.get(3)?,
                    started_at: ts_col(row, 4)?,
                    finished_at: ts_col(row, 5)?,
                    dirty: row.get(6)?,
                    base_commit: row.get(7)?,
                    checks: Vec::new(),
                })
            },
        ),
        "verification report",
        id,
    )?;
    let mut checks = tx.prepare(
        "SELECT id, name, passed, exit_code, duration_ms, error, output_tail, tests FROM check_results
         WHERE report_id = ?1 ORDER BY ordinal",
    )?;
    let mut findings = tx.prepare(
        "SELECT file, line, column_no, rule, severity, message FROM findings WHERE check_id = ?1 ORDER BY ordinal",
    )?;
    let rows = checks.query_map([id.0], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            CheckResult {
                name: row.get(1)?,
                passed: row.get(2)?,
                exit_code: row.get(3)?,
                duration_ms: row.get::<_, i64>(4)? as u64,
                error: row.get(5)?,
                output_tail: row.get(6)?,
                tests: opt_json_col(row, 7)?,
                findings: Vec::new(),
            },
        ))
    })?;
    for row in rows {
        let (check_id, mut check) = row?;
        check.findings = findings
            .query_map([check_id], |row| {
                Ok(Finding {
                    file: row.get(0)?,
                    line: row.get(1)?,
                    column: row.get(2)?,
                    rule: row.get(3)?,
                    severity: parse_col(row, 4)?,
                    message: row.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        report.checks.push(check);
    }
    Ok(report)
}

impl Store {
    /// Stores a report with its results and findings.
    pub fn save_report(&self, new: &NewReport) -> Result<VerificationReport> {
        self.write(|tx| {
            let passed = new.checks.iter().all(|check| check.passed);
            tx.execute(
                "INSERT INTO verification_reports (project_id, run_id, commit_sha, passed, started_at, finished_at, dirty, base_commit)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    new.project_id.0,
                    new.run_id.map(|r| r.0),
                    new.commit,
                    passed,
                    new.started_at.as_millis(),
                    new.finished_at.as_millis(),
                    new.dirty,
                    new.base_commit
                ],
            )?;
            let report_id = ReportId(tx.last_insert_rowid());
            for (ordinal, check) in new.checks.iter().enumerate() {
                tx.execute(
                    "INSERT INTO check_results (report_id, ordinal, name, passed, exit_code, duration_ms, error, output_tail, tests)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        report_id.0,
                        ordinal as u32,
                        check.name,
                        check.passed,
                        check.exit_code,
                        check.duration_ms as i64,
                        check.error,
                        check.output_tail,
                        check.tests.as_ref().map(to_json).transpose()?
                    ],
                )?;
                let check_id = tx.last_insert_rowid();
                for (index, finding) in check.findings.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO findings (check_id, ordinal, file, line, column_no, rule, severity, message)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        params![
                            check_id,
                            index as u32,
                            finding.file,
                            finding.line,
                            finding.column,
                            finding.rule,
                            finding.severity.as_str(),
                            finding.message
                        ],
                    )?;
                }
            }
            load_report(tx, report_id)
        })
    }

    /// The report with this id.
    pub fn report(&self, id: ReportId) -> Result<VerificationReport> {
        self.read(|tx| load_report(tx, id))
    }

    /// The project's newest reports, newest first.
    pub fn recent_reports(
        &self,
        project_id: ProjectId,
        limit: u32,
    ) -> Result<Vec<VerificationReport>> {
        self.read(|tx| {
            let ids: Vec<i64> = tx
                .prepare("SELECT id FROM verification_reports WHERE project_id = ?1 ORDER BY id DESC LIMIT ?2")?
                .query_map(params![project_id.0, limit], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids.into_iter().map(|id| load_report(tx, ReportId(id))).collect()
        })
    }

    /// A run's reports, oldest first.
    pub fn reports_for_run(&self, run_id: RunId) -> Result<Vec<VerificationReport>> {
        self.read(|tx| {
            let ids: Vec<i64> = tx
                .prepare("SELECT id FROM verification_reports WHERE run_id = ?1 ORDER BY id")?
                .query_map([run_id.0], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids.into_iter()
                .map(|id| load_report(tx, ReportId(id)))
                .collect()
        })
    }
}
