//! Documents cut into chunks by their headings, each chunk keeping the path of headings above it
//! (`["Guide", "Install", "From source"]`), so a search hit says where in the document it is.

/// A piece of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The headings above it, outermost first.
    pub heading_path: Vec<String>,
    /// Its text.
    pub text: String,
}

/// The longest chunk, in characters; longer sections are split at paragraph breaks.
pub const MAX_CHARS: usize = 2000;

/// The kind of text, for finding its headings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `#` headings (HTML is converted to this).
    Markdown,
    /// Underlined headings (`Title` over `=====`).
    Rest,
    /// No headings: paragraphs only.
    Plain,
}

/// The format a file name suggests.
pub fn format_of(name: &str) -> Option<Format> {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "md" | "markdown" | "mdx" | "html" | "htm" => Format::Markdown,
        "rst" => Format::Rest,
        "txt" | "text" => Format::Plain,
        _ => return None,
    })
}

/// Cuts a document into pieces.
pub fn chunk(text: &str, format: Format) -> Vec<Piece> {
    let lines: Vec<&str> = text.lines().collect();
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut sections: Vec<(Vec<String>, String)> = Vec::new();
    let mut current = String::new();
    let mut in_fence = false;
    let mut i = 0;
    let flush = |sections: &mut Vec<(Vec<String>, String)>,
                 path: &[(usize, String)],
                 current: &mut String| {
        if !current.trim().is_empty() {
            sections.push((
                path.iter().map(|(_, h)| h.clone()).collect(),
                std::mem::take(current),
            ));
        }
        current.clear();
    };
    while i < lines.len() {
        let line = lines[i];
        if format == Format::Markdown && line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        let heading = match format {
            Format::Markdown if !in_fence => markdown_heading(line),
            Format::Rest => lines.get(i + 1).and_then(|next| rest_heading(line, next)),
            _ => None,
        };
        if let Some((level, title)) = heading {
            flush(&mut sections, &path, &mut current);
            path.retain(|(l, _)| *l < level);
            path.push((level, title));
            i += if format == Format::Rest { 2 } else { 1 };
            continue;
        }
        current.push_str(line);
        current.push('\n');
        i += 1;
    }
    flush(&mut sections, &path, &mut current);
    let mut pieces = Vec::new();
    for (heading_path, text) in sections {
        for part in split(&text) {
            pieces.push(Piece {
                heading_path: heading_path.clone(),
                text: part,
            });
        }
    }
    pieces
}

fn markdown_heading(line: &str) -> Option<(usize, String)> {
    let trimmed = line.trim_start();
    let level = trimmed.chars().take_while(|c| *c == '#').count();
    if level == 0 || level > 6 || !trimmed[level..].starts_with(' ') {
        return None;
    }
    let title = trimmed[level..]
        .trim()
        .trim_end_matches('#')
        .trim()
        .to_owned();
    (!title.is_empty()).then_some((level, title))
}

fn rest_heading(line: &str, next: &str) -> Option<(usize, String)> {
    let title = line.trim();
    let under = next.trim_end();
    let mark = under.chars().next()?;
    let levels = ['=', '-', '~', '^', '"', '*', '+', '#'];
    let level = levels.iter().position(|c| *c == mark)? + 1;
    (!title.is_empty() && under.len() >= title.chars().count() && under.chars().all(|c| c == mark))
        .then(|| (level, title.to_owned()))
}

/// Splits a section longer than [`MAX_CHARS`] at paragraph breaks (a paragraph longer still is
/// cut at a character boundary).
fn split(text: &str) -> Vec<String> {
    let text = text.trim();
    if text.len() <= MAX_CHARS {
        return if text.is_empty() {
            Vec::new()
        } else {
            vec![text.to_owned()]
        };
    }
    let mut parts = Vec::new();
    let mut current = String::new();
    for paragraph in text.split("\n\n") {
        if !current.is_empty() && current.len() + paragraph.len() + 2 > MAX_CHARS {
            parts.push(std::mem::take(&mut current));
        }
        if paragraph.len() > MAX_CHARS {
            let mut rest = paragraph;
            while rest.len() > MAX_CHARS {
                let mut cut = MAX_CHARS;
                while !rest.is_char_boundary(cut) {
                    cut -= 1;
                }
                parts.push(rest[..cut].to_owned());
                rest = &rest[cut..];
            }
            current.push_str(rest);
            continue;
        }
        if !current.is_empty() {
            current.push_str("\n\n");
        }
        current.push_str(paragraph);
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_sections_keep_their_heading_path() {
        let doc = "intro\n# Guide\ntext a\n## Install\ntext b\n```\n# not a heading\n```\n### From source\ntext c\n## Use\ntext d\n";
        let pieces = chunk(doc, Format::Markdown);
        let paths: Vec<Vec<&str>> = pieces
            .iter()
            .map(|p| p.heading_path.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            paths,
            [
                vec![],
                vec!["Guide"],
                vec!["Guide", "Install"],
                vec!["Guide", "Install", "From source"],
                vec!["Guide", "Use"]
            ]
        );
        assert!(pieces[2].text.contains("# not a heading"));
    }

    #[test]
    fn rest_headings_and_long_sections() {
        let doc = "Title\n=====\n\nabout\n\nPart\n----\n\nmore\n";
        let pieces = chunk(doc, Format::Rest);
        assert_eq!(pieces[1].heading_path, ["Title", "Part"]);
        let long = format!("# H\n{}", "word ".repeat(1000));
        let parts = chunk(&long, Format::Markdown);
        assert!(parts.len() >= 3 && parts.iter().all(|p| p.text.len() <= MAX_CHARS));
    }
}
