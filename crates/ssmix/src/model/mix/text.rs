//! The markup state of structured text (MediaWiki / XML): which brackets, tags and
//! emphasis the text is inside and how its line began, updated byte by byte. It feeds
//! the context kinds `KIND_MARKUP`, `KIND_MARKUP_WORD` and `KIND_MARKUP2`, the
//! `FLAG_MARKUP_MIXER` weight-set selector and APM contexts (FORMAT.md §7.8), and it
//! remembers the first word of the sentence (`KIND_SENTENCE`).

/// FNV-style step of the entity-name hash.
#[inline]
const fn step(h: u64, b: u8) -> u64 {
    (h ^ b as u64).wrapping_mul(0x100_0000_01B3)
}

/// Hash of the entity name `lt` (`&lt;` opens an escaped tag).
const ENT_LT: u64 = step(step(0, b'l'), b't');
/// Hash of the entity name `gt` (`&gt;` closes one).
const ENT_GT: u64 = step(step(0, b'g'), b't');

/// The markup state (see the module docs).
pub(super) struct MarkupState {
    /// Open `[` and `{` brackets on this line / overall (saturating).
    link: u8,
    tmpl: u8,
    /// Inside `<...>` or `&lt;...&gt;`.
    in_tag: bool,
    /// A `|` since the last bracket opened or closed (link text, template argument).
    pipe: bool,
    /// Inside an entity (`&...;`) and the hash of its name so far.
    in_ent: bool,
    ent: u64,
    /// Class of the line's first byte (0..=15), and whether the next byte starts a line.
    line: u8,
    line_start: bool,
    /// Italic (bit 0) and bold (bit 1), toggled by runs of 2, 3 or 5 quotes; and the
    /// length of the current run of quotes.
    quotes: u8,
    qrun: u8,
    /// The first word of the current sentence (the model's word hash), and whether the
    /// next word starts a sentence (after `.`, `!`, `?` or a newline).
    sent_first: u64,
    sent_new: bool,
    /// The current field (`FLAG_FIELD`): the hash of the name after the last `{`, `[`
    /// or `<`, or of a template argument's name (`|name=`); 0 outside any.
    field: u64,
    /// The name being read: 0 none, 1 after an opening bracket, 2 after a `|` (it
    /// becomes the field only at a `=`); and its hash so far.
    cap_mode: u8,
    cap: u64,
    /// Whether field names are read at all (only `FLAG_FIELD` uses them).
    fields: bool,
}

impl MarkupState {
    /// A fresh state; `fields`: read field names (`field` stays 0 otherwise).
    pub(super) fn new(fields: bool) -> Self {
        MarkupState {
            link: 0,
            tmpl: 0,
            in_tag: false,
            pipe: false,
            in_ent: false,
            ent: 0,
            line: 0,
            line_start: true,
            quotes: 0,
            qrun: 0,
            sent_first: 0,
            sent_new: true,
            field: 0,
            cap_mode: 0,
            cap: 0,
            fields,
        }
    }

    /// The whole state as a 13-bit number (the contexts).
    #[inline]
    pub(super) fn code(&self) -> u64 {
        u64::from(self.link.min(2))
            | u64::from(self.tmpl.min(2)) << 2
            | u64::from(self.in_tag) << 4
            | u64::from(self.pipe) << 5
            | u64::from(self.in_ent) << 6
            | u64::from(self.line) << 7
            | u64::from(self.quotes) << 11
    }

    /// A 6-bit summary (the weight-set selector): inside a link, a template, a tag, a
    /// `|` seen, and the emphasis.
    #[inline]
    pub(super) fn small(&self) -> usize {
        usize::from(self.link.min(1))
            | usize::from(self.tmpl.min(1)) << 1
            | usize::from(self.in_tag) << 2
            | usize::from(self.pipe) << 3
            | usize::from(self.quotes) << 4
    }

    /// The first word of the current sentence (0 before the first).
    #[inline]
    pub(super) fn sentence(&self) -> u64 {
        self.sent_first
    }

    /// The current field name's hash (0 outside any).
    #[inline]
    pub(super) fn field(&self) -> u64 {
        self.field
    }

    /// Reads field names: `b` continues the name being read or ends it.
    fn update_field(&mut self, b: u8) {
        if self.cap_mode != 0 {
            let name = b.is_ascii_alphanumeric()
                || matches!(b, b'_' | b'-' | b':')
                || (b == b' ' && !self.in_tag);
            if name {
                self.cap = step(self.cap, b.to_ascii_lowercase());
                return;
            }
            if self.cap_mode == 1 || b == b'=' {
                self.field = self.cap;
            }
            self.cap_mode = 0;
        }
        match b {
            b'{' | b'[' | b'<' => {
                self.cap_mode = 1;
                self.cap = 0;
            }
            b'|' => {
                self.cap_mode = 2;
                self.cap = 0;
            }
            b'\n' if self.tmpl == 0 => self.field = 0,
            // Closing the outermost bracket (the depths before `b`).
            b']' if self.link <= 1 && self.tmpl == 0 => self.field = 0,
            b'}' if self.tmpl <= 1 && self.link == 0 => self.field = 0,
            _ => {}
        }
    }

    /// Learns byte `b`; `word` is the model's current word before `b`.
    pub(super) fn update(&mut self, b: u8, word: u64) {
        if self.fields {
            self.update_field(b);
        }
        if !b.is_ascii_alphabetic() && word != 0 && self.sent_new {
            self.sent_first = word;
            self.sent_new = false;
        }
        if matches!(b, b'.' | b'!' | b'?' | b'\n') {
            self.sent_new = true;
        }
        if self.line_start {
            self.line = match b {
                b'=' => 1,
                b'*' => 2,
                b'#' => 3,
                b'|' | b'!' => 4,
                b'{' => 5,
                b':' | b';' => 6,
                b' ' => 7,
                b'<' => 8,
                b'&' => 9,
                b'[' => 10,
                b'\'' => 11,
                b'a'..=b'z' | b'A'..=b'Z' => 12,
                b'0'..=b'9' => 13,
                b'\n' => 14,
                _ => 15,
            };
        }
        self.line_start = b == b'\n';
        if b == b'\'' {
            self.qrun = self.qrun.saturating_add(1);
        } else {
            match self.qrun {
                2 => self.quotes ^= 1,
                3 => self.quotes ^= 2,
                5 => self.quotes ^= 3,
                _ => {}
            }
            self.qrun = 0;
        }
        if self.line_start {
            self.quotes = 0;
        }
        if self.in_ent {
            if b == b';' {
                self.in_ent = false;
                // Escaped tags in the wiki text.
                if self.ent == ENT_LT {
                    self.in_tag = true;
                } else if self.ent == ENT_GT {
                    self.in_tag = false;
                }
                return;
            } else if b.is_ascii_alphanumeric() || b == b'#' {
                self.ent = step(self.ent, b);
                return;
            }
            self.in_ent = false;
        }
        match b {
            b'&' => {
                self.in_ent = true;
                self.ent = 0;
            }
            b'<' => self.in_tag = true,
            b'>' => self.in_tag = false,
            b'[' => {
                self.link = self.link.saturating_add(1);
                self.pipe = false;
            }
            b']' => {
                self.link = self.link.saturating_sub(1);
                self.pipe = false;
            }
            b'{' => {
                self.tmpl = self.tmpl.saturating_add(1);
                self.pipe = false;
            }
            b'}' => {
                self.tmpl = self.tmpl.saturating_sub(1);
                self.pipe = false;
            }
            b'|' => self.pipe = true,
            b'\n' => {
                self.link = 0;
                self.in_tag = false;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(s: &[u8]) -> MarkupState {
        let mut m = MarkupState::new(true);
        for &b in s {
            m.update(b, 0);
        }
        m
    }

    #[test]
    fn tracks_wiki_markup() {
        let m = feed(b"== Hi ==\nSee [[Paris|the ci");
        assert_eq!((m.link, m.pipe, m.line), (2, true, 12));
        let m = feed(b"x&lt;ref");
        assert!(m.in_tag);
        let m = feed(b"x&lt;ref&gt;Smith");
        assert!(!m.in_tag && !m.in_ent);
        let m = feed(b"{{cite|a=b}} '''bold");
        assert_eq!((m.tmpl, m.quotes), (0, 2));
        let m = feed(b"* ''it'' [[a]]\n");
        assert_eq!((m.link, m.quotes, m.line_start), (0, 0, true));
        assert_ne!(feed(b"[[a|").code(), feed(b"[[a").code());
    }
}
