//! Reading messages from files, directories and stdin, in constant memory.
//!
//! Format rules, decided per file:
//! - a file whose first non-blank byte is `[` is a JSON array of messages, streamed element
//!   by element (located as `file[index]`);
//! - a file whose first non-blank line is a complete JSON value is NDJSON, one message per
//!   line (located as `file:line`);
//! - anything else is one JSON document holding one message, or several concatenated
//!   (pretty-printed) messages (located as `file` or `file#n`).
//!
//! Directories are walked recursively in name order, taking `*.json`, `*.ndjson`, `*.jsonl`
//! and `*.idea` files; paths named explicitly are always read.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// Where a message came from, for error reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub at: Locator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locator {
    /// The whole file.
    File,
    /// 1-based line of an NDJSON file.
    Line(u64),
    /// 0-based element of a JSON array.
    Index(u64),
    /// 1-based position among concatenated documents.
    Document(u64),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Locator::File => write!(f, "{}", self.file),
            Locator::Line(n) => write!(f, "{}:{n}", self.file),
            Locator::Index(n) => write!(f, "{}[{n}]", self.file),
            Locator::Document(n) => write!(f, "{}#{n}", self.file),
        }
    }
}

/// One input of `ideadb ingest`.
#[derive(Debug, Clone)]
pub enum Input {
    Stdin,
    Path(PathBuf),
}

impl Input {
    pub fn parse(arg: &str) -> Self {
        if arg == "-" {
            Self::Stdin
        } else {
            Self::Path(PathBuf::from(arg))
        }
    }
}

/// What the reader yields: a message's bytes, or why a part of the input is unreadable.
pub type Item = (Origin, Result<Vec<u8>, String>);

/// Calls `emit` for every message of every input, in order, until `stop` is set (then every
/// input reads as ended).
pub fn read_all(inputs: &[Input], stop: &AtomicBool, emit: &mut dyn FnMut(Item)) {
    for input in inputs {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        match input {
            Input::Stdin => read_stream("<stdin>", Box::new(Stoppable { inner: io::stdin().lock(), stop }), emit),
            Input::Path(p) if p.is_dir() => {
                let mut files = Vec::new();
                if let Err(e) = walk(p, &mut files) {
                    emit((origin(p), Err(format!("cannot read directory: {e}"))));
                }
                for f in files {
                    read_file(&f, stop, emit);
                }
            }
            Input::Path(p) => read_file(p, stop, emit),
        }
    }
}

/// Calls `emit` for every message read from `r` (a spool file in memory, an HTTP body spilled
/// to disk), named `name`.
pub fn read_from(name: &str, r: impl BufRead, emit: &mut dyn FnMut(Item)) {
    read_stream(name, Box::new(r), emit)
}

fn origin(p: &Path) -> Origin {
    Origin { file: p.display().to_string(), at: Locator::File }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let hidden = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("json" | "ndjson" | "jsonl" | "idea")) {
            out.push(p);
        }
    }
    Ok(())
}

/// A reader that ends as soon as `stop` is set.
struct Stoppable<'s, R> {
    inner: R,
    stop: &'s AtomicBool,
}

impl<R: BufRead> Read for Stoppable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(0);
        }
        self.inner.read(buf)
    }
}

impl<R: BufRead> BufRead for Stoppable<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(&[]);
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n)
    }
}

fn read_file(path: &Path, stop: &AtomicBool, emit: &mut dyn FnMut(Item)) {
    match File::open(path) {
        Ok(f) => {
            let r = Stoppable { inner: BufReader::with_capacity(1 << 16, f), stop };
            read_stream(&path.display().to_string(), Box::new(r), emit)
        }
        Err(e) => emit((origin(path), Err(format!("cannot open: {e}")))),
    }
}

fn read_stream(name: &str, mut r: Box<dyn BufRead + '_>, emit: &mut dyn FnMut(Item)) {
    let at = |at| Origin { file: name.to_string(), at };
    // Peek past leading whitespace without consuming the first value.
    let first = loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) => return emit((at(Locator::File), Err(format!("cannot read: {e}")))),
        };
        if buf.is_empty() {
            return;
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let b = buf[i];
                r.consume(i);
                break b;
            }
            None => {
                let n = buf.len();
                r.consume(n);
            }
        }
    };
    if first == b'[' {
        return read_array(r, &at, emit);
    }
    let mut line = Vec::new();
    if let Err(e) = r.read_until(b'\n', &mut line) {
        return emit((at(Locator::File), Err(format!("cannot read: {e}"))));
    }
    if serde_json::from_slice::<&RawValue>(trim(&line)).is_ok() {
        emit((at(Locator::Line(1)), Ok(trim(&line).to_vec())));
        return read_lines(r, 1, &at, emit);
    }
    // One document, or several concatenated: chain the first line back in front.
    let rest = io::Cursor::new(line).chain(r);
    let mut docs = serde_json::Deserializer::from_reader(rest).into_iter::<Box<RawValue>>();
    let mut n = 0;
    let mut pending: Option<Vec<u8>> = None;
    loop {
        match docs.next() {
            Some(Ok(raw)) => {
                n += 1;
                if let Some(prev) = pending.replace(raw.get().as_bytes().to_vec()) {
                    emit((at(Locator::Document(n - 1)), Ok(prev)));
                }
            }
            Some(Err(e)) => {
                flush(&mut pending, n, &at, emit);
                return emit((
                    at(if n == 0 { Locator::File } else { Locator::Document(n + 1) }),
                    Err(format!("not valid JSON: {e}")),
                ));
            }
            None => return flush(&mut pending, n, &at, emit),
        }
    }
}

/// Emits the last document, located as the whole file when it was the only one.
fn flush(pending: &mut Option<Vec<u8>>, n: u64, at: &dyn Fn(Locator) -> Origin, emit: &mut dyn FnMut(Item)) {
    if let Some(raw) = pending.take() {
        emit((at(if n == 1 { Locator::File } else { Locator::Document(n) }), Ok(raw)));
    }
}

fn read_lines(
    mut r: Box<dyn BufRead + '_>,
    mut lineno: u64,
    at: &dyn Fn(Locator) -> Origin,
    emit: &mut dyn FnMut(Item),
) {
    let mut line = Vec::new();
    loop {
        line.clear();
        lineno += 1;
        match r.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) => {
                let t = trim(&line);
                if !t.is_empty() {
                    emit((at(Locator::Line(lineno)), Ok(t.to_vec())));
                }
            }
            Err(e) => return emit((at(Locator::Line(lineno)), Err(format!("cannot read: {e}")))),
        }
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |i| i + 1);
    &b[start..end]
}

/// Streams the elements of a top-level JSON array without holding the array.
fn read_array(r: Box<dyn BufRead + '_>, at: &dyn Fn(Locator) -> Origin, emit: &mut dyn FnMut(Item)) {
    struct Elements<'a, 'b> {
        emit: &'a mut dyn FnMut(Item),
        at: &'a dyn Fn(Locator) -> Origin,
        count: &'b mut u64,
    }
    impl<'de> Visitor<'de> for Elements<'_, '_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON array of IDEA messages")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
                (self.emit)(((self.at)(Locator::Index(*self.count)), Ok(raw.get().as_bytes().to_vec())));
                *self.count += 1;
            }
            Ok(())
        }
    }
    let mut count = 0;
    let mut de = serde_json::Deserializer::from_reader(r);
    let result = de.deserialize_seq(Elements { emit, at, count: &mut count }).and_then(|_| de.end());
    if let Err(e) = result {
        emit((at(Locator::Index(count)), Err(format!("not valid JSON: {e}"))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(String, Result<String, String>)> {
        let mut out = Vec::new();
        read_stream("f", Box::new(text.as_bytes()), &mut |(o, r)| {
            out.push((o.to_string(), r.map(|b| String::from_utf8(b).unwrap())));
        });
        out
    }

    #[test]
    fn reads_the_three_shapes_and_locates_each_message() {
        let ok = |o: &str, s: &str| (o.to_string(), Ok(s.to_string()));
        assert_eq!(read("\n {\n \"a\": 1\n}\n"), [ok("f", "{\n \"a\": 1\n}")]);
        assert_eq!(read("{\"a\":1}\n\n{\"b\":2}\r\n"), [ok("f:1", "{\"a\":1}"), ok("f:3", "{\"b\":2}")]);
        assert_eq!(read(" [ {\"a\":1}, {\"b\": [2]} ]"), [ok("f[0]", "{\"a\":1}"), ok("f[1]", "{\"b\": [2]}")]);
        assert_eq!(read("{\n\"a\":1}\n{\n\"b\":2}"), [ok("f#1", "{\n\"a\":1}"), ok("f#2", "{\n\"b\":2}")]);
    }

    #[test]
    fn broken_json_is_reported_where_it_is_and_neighbours_survive() {
        let r = read("{\"a\":1}\n{\"b\":\n{\"c\":3}\n");
        assert_eq!(r[0].0, "f:1");
        assert_eq!(
            r[1],
            ("f:2".to_string(), Ok("{\"b\":".to_string())),
            "the line goes on to IDEA validation, which rejects it"
        );
        assert_eq!(r[2].0, "f:3");
        let r = read("[{\"a\":1}, {\"b\": ]");
        assert_eq!(r[0].0, "f[0]");
        assert!(r[1].0 == "f[1]" && r[1].1.as_ref().unwrap_err().starts_with("not valid JSON"));
    }
}
