//! Whether two path globs can match a common path — exactly, with the path as proof.
//!
//! Globs are those of the plans and of Claude Code rules: `/`-separated segments where `**` is
//! any number of whole segments, and within a segment `*` is any run of characters, `?` one
//! character, `[abc]`/`[a-z]`/`[!x]` a class, `{a,b}` alternatives (expanded first). Two globs
//! overlap when some path matches both: `src/**/*.rs` and `src/auth/mod.rs` do, `src/a/**` and
//! `src/b/**` do not. [`overlap`] returns such a path, so the answer can be checked.

use std::collections::HashSet;

/// Alternatives expanded at most (a glob with more is treated as matching everything).
const MAX_EXPANSIONS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn accepts(&self, c: char) -> bool {
        match self {
            Token::Literal(l) => *l == c,
            Token::Any | Token::Star => true,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|(a, b)| (*a..=*b).contains(&c)) != *negated
            }
        }
    }

    /// Characters worth trying when this token must consume one.
    fn candidates(&self) -> Vec<char> {
        match self {
            Token::Literal(c) => vec![*c],
            Token::Any | Token::Star => vec!['x'],
            Token::Class {
                negated: false,
                ranges,
            } => ranges.iter().flat_map(|(a, b)| [*a, *b]).collect(),
            Token::Class {
                negated: true,
                ranges,
            } => {
                let mut out: Vec<char> = ranges
                    .iter()
                    .flat_map(|(a, b)| [prev(*a), next(*b)])
                    .flatten()
                    .collect();
                out.extend(['x', 'a', '0', '_']);
                out
            }
        }
    }
}

fn prev(c: char) -> Option<char> {
    char::from_u32(u32::from(c).checked_sub(1)?).filter(|c| *c != '/')
}

fn next(c: char) -> Option<char> {
    char::from_u32(u32::from(c) + 1).filter(|c| *c != '/')
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `**`: any number of segments.
    Any,
    /// One segment.
    One(Vec<Token>),
}

/// `{a,b}` alternatives expanded (nested ones too), at most [`MAX_EXPANSIONS`].
fn expand(glob: &str) -> Option<Vec<String>> {
    let Some(open) = glob.find('{') else {
        return Some(vec![glob.to_owned()]);
    };
    let mut depth = 0;
    let mut close = None;
    let mut commas = vec![];
    for (i, c) in glob[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(open + i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return Some(vec![glob.to_owned()]);
    };
    let mut bounds = vec![open];
    bounds.extend(commas);
    bounds.push(close);
    let mut out = Vec::new();
    for pair in bounds.windows(2) {
        let alternative = format!(
            "{}{}{}",
            &glob[..open],
            &glob[pair[0] + 1..pair[1]],
            &glob[close + 1..]
        );
        out.extend(expand(&alternative)?);
        if out.len() > MAX_EXPANSIONS {
            return None;
        }
    }
    Some(out)
}

fn parse_segment(text: &str) -> Segment {
    if text == "**" {
        return Segment::Any;
    }
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                // `**` inside a segment (`a**b`) is a plain star.
                if tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
            }
            '?' => tokens.push(Token::Any),
            '\\' if i + 1 < chars.len() => {
                i += 1;
                tokens.push(Token::Literal(chars[i]));
            }
            '[' => {
                let mut j = i + 1;
                let negated = matches!(chars.get(j), Some('!' | '^'));
                if negated {
                    j += 1;
                }
                let start = j;
                let mut ranges = Vec::new();
                while j < chars.len() && (chars[j] != ']' || j == start) {
                    if j + 2 < chars.len() && chars[j + 1] == '-' && chars[j + 2] != ']' {
                        ranges.push((chars[j], chars[j + 2]));
                        j += 3;
                    } else {
                        ranges.push((chars[j], chars[j]));
                        j += 1;
                    }
                }
                if j < chars.len() {
                    tokens.push(Token::Class { negated, ranges });
                    i = j;
                } else {
                    // No closing bracket: a literal `[`.
                    tokens.push(Token::Literal('['));
                }
            }
            c => tokens.push(Token::Literal(c)),
        }
        i += 1;
    }
    Segment::One(tokens)
}

fn parse(glob: &str) -> Vec<Segment> {
    let trimmed = glob.trim().trim_start_matches("./").trim_start_matches('/');
    let mut segments: Vec<Segment> = trimmed
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .map(parse_segment)
        .collect();
    // A trailing `/` names a folder: everything under it.
    if glob.trim().ends_with('/') {
        segments.push(Segment::Any);
    }
    segments.dedup_by(|a, b| *a == Segment::Any && *b == Segment::Any);
    // A trailing `/**` is what is inside the folder: at least one more segment (as globset reads it).
    if segments.len() > 1 && segments.last() == Some(&Segment::Any) {
        segments.pop();
        segments.push(Segment::One(vec![Token::Star]));
        segments.push(Segment::Any);
    }
    segments
}

/// A segment (non-empty, without `/`) both token lists accept, if there is one.
fn segment_witness(a: &[Token], b: &[Token]) -> Option<String> {
    fn go(
        a: &[Token],
        b: &[Token],
        i: usize,
        j: usize,
        seen: &mut HashSet<(usize, usize)>,
        out: &mut String,
    ) -> bool {
        if !seen.insert((i, j)) {
            return false;
        }
        if i == a.len() && j == b.len() {
            return true;
        }
        // A star may match nothing.
        if i < a.len() && a[i] == Token::Star && go(a, b, i + 1, j, seen, out) {
            return true;
        }
        if j < b.len() && b[j] == Token::Star && go(a, b, i, j + 1, seen, out) {
            return true;
        }
        if i == a.len() || j == b.len() {
            return false;
        }
        // Both consume one character; a star stays where it is.
        let mut candidates = a[i].candidates();
        candidates.extend(b[j].candidates());
        for c in candidates {
            if c == '/' || !a[i].accepts(c) || !b[j].accepts(c) {
                continue;
            }
            let ni = if a[i] == Token::Star { i } else { i + 1 };
            let nj = if b[j] == Token::Star { j } else { j + 1 };
            // Two stars consuming together make no progress: let one of them end instead.
            if ni == i && nj == j {
                continue;
            }
            out.push(c);
            if go(a, b, ni, nj, seen, out) {
                return true;
            }
            out.pop();
        }
        false
    }
    let mut out = String::new();
    let mut seen = HashSet::new();
    if go(a, b, 0, 0, &mut seen, &mut out) {
        // An empty segment is no segment: two stars need at least one character.
        if out.is_empty() {
            return (a.iter().all(|t| *t == Token::Star) && b.iter().all(|t| *t == Token::Star))
                .then(|| "x".to_owned());
        }
        Some(out)
    } else {
        None
    }
}

/// A path both segment lists match, if there is one.
fn path_witness(a: &[Segment], b: &[Segment]) -> Option<Vec<String>> {
    // The memo keys on whether a segment was produced yet: an empty path is no path.
    fn go(
        a: &[Segment],
        b: &[Segment],
        i: usize,
        j: usize,
        seen: &mut HashSet<(usize, usize, bool)>,
        out: &mut Vec<String>,
    ) -> bool {
        if !seen.insert((i, j, out.is_empty())) {
            return false;
        }
        if i == a.len() && j == b.len() {
            return !out.is_empty();
        }
        if i < a.len() && a[i] == Segment::Any {
            // `**` matching nothing, or one more segment (matched by the other side's segment).
            if go(a, b, i + 1, j, seen, out) {
                return true;
            }
            match b.get(j) {
                Some(Segment::One(tokens)) => {
                    if let Some(segment) = segment_witness(tokens, &[Token::Star]) {
                        out.push(segment);
                        if go(a, b, i, j + 1, seen, out) {
                            return true;
                        }
                        out.pop();
                    }
                }
                Some(Segment::Any) => {
                    if go(a, b, i, j + 1, seen, out) {
                        return true;
                    }
                }
                None => {
                    // `**` alone at the end: it needs a segment to stand for when nothing else is left.
                    if out.is_empty() {
                        out.push("x".into());
                        if go(a, b, i + 1, j, seen, out) {
                            return true;
                        }
                        out.pop();
                    }
                }
            }
            return false;
        }
        if j < b.len() && b[j] == Segment::Any {
            return go(b, a, j, i, &mut HashSet::new(), out);
        }
        match (a.get(i), b.get(j)) {
            (Some(Segment::One(x)), Some(Segment::One(y))) => {
                let Some(segment) = segment_witness(x, y) else {
                    return false;
                };
                out.push(segment);
                if go(a, b, i + 1, j + 1, seen, out) {
                    return true;
                }
                out.pop();
                false
            }
            _ => false,
        }
    }
    let mut out = Vec::new();
    go(a, b, 0, 0, &mut HashSet::new(), &mut out).then_some(out)
}

/// A path (relative, `/`-separated) that both globs match, or `None` when no path can match
/// both. Globs with more than 256 alternatives count as matching everything.
pub fn overlap(a: &str, b: &str) -> Option<String> {
    let (Some(xs), Some(ys)) = (expand(a), expand(b)) else {
        return Some(if expand(a).is_none() {
            b.to_owned()
        } else {
            a.to_owned()
        });
    };
    for x in &xs {
        let px = parse(x);
        for y in &ys {
            if let Some(path) = path_witness(&px, &parse(y)) {
                return Some(path.join("/"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(glob: &str, path: &str) -> bool {
        expand(glob).unwrap().iter().any(|g| {
            let g = g.trim_start_matches("./").trim_start_matches('/');
            let g = if glob.ends_with('/') {
                format!("{g}**")
            } else {
                g.to_owned()
            };
            globset::GlobBuilder::new(&g)
                .literal_separator(true)
                .build()
                .unwrap()
                .compile_matcher()
                .is_match(path)
        })
    }

    #[test]
    fn the_cases_of_the_issue() {
        for (a, b, expected) in [
            ("src/**/*.rs", "src/auth/mod.rs", true),
            ("src/a/**", "src/b/**", false),
            ("src/a/**", "src/a/x/y.py", true),
            ("src/*.rs", "src/auth/mod.rs", false),
            ("**/*.md", "docs/x/y.md", true),
            ("**/*.md", "src/lib.rs", false),
            ("src/{a,b}/*.rs", "src/b/x.rs", true),
            ("src/{a,b}/*.rs", "src/c/x.rs", false),
            ("test_[0-9].py", "test_5.py", true),
            ("test_[0-9].py", "test_x.py", false),
            ("test_[!0-9].py", "test_x.py", true),
            ("a*b", "*c", false),
            ("a*", "*b", true),
            ("src/**", "src/", true),
            ("src/**", "src", false),
            ("docs/", "docs/guide.md", true),
            ("**", "anything/at/all", true),
            ("a/**/b", "a/b", true),
            ("a/**/b/**/c", "a/x/b/c", true),
            ("a/**/b", "a/c", false),
            ("?", "ab", false),
            ("*.py", "*.rs", false),
            ("src/lib.rs", "src/lib.rs", true),
            ("src/lib.rs", "src/main.rs", false),
        ] {
            let found = overlap(a, b);
            assert_eq!(found.is_some(), expected, "{a} vs {b}: {found:?}");
            assert_eq!(overlap(b, a).is_some(), expected, "{b} vs {a} (symmetric)");
            if let Some(path) = found {
                assert!(
                    matches(a, &path) && matches(b, &path),
                    "{path} should match {a} and {b}"
                );
            }
        }
    }
}
