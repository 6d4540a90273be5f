//! The markup state of structured text (MediaWiki / XML): which brackets, tags and
//! emphasis the text is inside and how its line began, updated byte by byte. It feeds
//! the context kinds `KIND_MARKUP`, `KIND_MARKUP_WORD` and `KIND_MARKUP2`, the
//! `FLAG_MARKUP_MIXER` weight-set selector and APM contexts (FORMAT.md §7.8), and it
//! remembers the first word of the sentence (`KIND_SENTENCE`). `MoreText` keeps the
//! rest of `FLAG_MORE_CTX`'s state: the previous line, open brackets and numbers;
//! `TopicText` `FLAG_TOPIC`'s: the page title and the last heading; `DistText`
//! `FLAG_DIST`'s: distances since the last markup byte and punctuation.

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

/// Longest line whose bytes `MoreText::above` remembers.
const LINE_CAP: usize = 256;

/// FNV-style hash of a number's digits, never 0 (0: outside a number).
#[inline]
fn digit_step(h: u64, b: u8) -> u64 {
    step(h, b) | 1
}

/// `FLAG_MORE_CTX`'s text state, updated byte by byte: the previous line (for the byte
/// above), the open brackets, and the current and previous number.
pub(super) struct MoreText {
    /// The current and the previous line's first `LINE_CAP` bytes.
    cur: [u8; LINE_CAP],
    prev: [u8; LINE_CAP],
    prev_len: usize,
    /// Bytes since the last newline (uncapped).
    col: usize,
    /// Open brackets, 2 bits each (`(`, `[`, `{`, `<`), the innermost in the low bits,
    /// and how many are open (saturating; a closing bracket closes the innermost).
    nest: u32,
    depth: u8,
    /// Hash of the digits of the current number (`.` and `,` between digits continue
    /// it; 0 outside a number) and of the previous number.
    number: u64,
    prev_number: u64,
    /// The last byte that is not a letter or digit, and its value when the current
    /// number began.
    lead: u8,
    num_lead: u8,
    /// Digits in the current number (saturating) and its first two, 0 outside one.
    num_len: u8,
    num_start: u16,
}

impl MoreText {
    pub(super) fn new() -> Self {
        MoreText {
            cur: [0; LINE_CAP],
            prev: [0; LINE_CAP],
            prev_len: 0,
            col: 0,
            nest: 0,
            depth: 0,
            number: 0,
            prev_number: 0,
            lead: 0,
            num_lead: 0,
            num_len: 0,
            num_start: 0,
        }
    }

    /// The byte above the next one and the byte after it (0 past the previous line's
    /// end), and the column (capped at `cap`).
    #[inline]
    pub(super) fn above(&self, cap: usize) -> u64 {
        let n = self.prev_len.min(LINE_CAP);
        let at = |c: usize| if c < n { u64::from(self.prev[c]) } else { 0 };
        (self.col.min(cap) as u64) << 16 | at(self.col) << 8 | at(self.col + 1)
    }

    /// The innermost 3 open brackets and the depth (capped at 7).
    #[inline]
    pub(super) fn nest(&self) -> u64 {
        u64::from(self.nest & 63) << 3 | u64::from(self.depth.min(7))
    }

    /// The current number's digits hash (0 outside a number).
    #[inline]
    pub(super) fn number(&self) -> u64 {
        self.number
    }

    /// The previous number's digits hash.
    #[inline]
    pub(super) fn prev_number(&self) -> u64 {
        self.prev_number
    }

    /// The byte before the current number (stale outside one).
    #[inline]
    pub(super) fn num_lead(&self) -> u8 {
        self.num_lead
    }

    /// The current number's length (saturating at 255) and first two digits.
    #[inline]
    pub(super) fn num_shape(&self) -> u64 {
        u64::from(self.num_len) << 16 | u64::from(self.num_start)
    }

    /// A 6-bit summary (`FLAG_SEL`'s weight-set selector): in a number, 32 + its length
    /// class (4) × the class of the byte before it (8); else the innermost open bracket,
    /// the depth (capped at 3) and whether the line has just begun (fewer than 2 bytes).
    #[inline]
    pub(super) fn selector(&self) -> usize {
        if self.number != 0 {
            let lead = match self.num_lead {
                b' ' => 0,
                b'\n' => 1,
                b'|' => 2,
                b'=' => 3,
                b'[' | b'(' | b'{' => 4,
                b'-' | b'/' | b':' => 5,
                b'#' | b'&' | b';' => 6,
                _ => 7,
            };
            32 + usize::from(self.num_len.clamp(1, 4) - 1) * 8 + lead
        } else {
            (self.nest & 3) as usize * 4
                + usize::from(self.depth.min(3))
                + if self.col < 2 { 16 } else { 0 }
        }
    }

    /// Learns byte `b`.
    pub(super) fn update(&mut self, b: u8) {
        if b == b'\n' {
            // `prev` is read only below `prev_len`, and the new line overwrites `cur` from
            // its start, so a swap does what a copy would.
            std::mem::swap(&mut self.prev, &mut self.cur);
            self.prev_len = self.col;
            self.col = 0;
        } else {
            if let Some(c) = self.cur.get_mut(self.col) {
                *c = b;
            }
            self.col = self.col.saturating_add(1);
        }
        let open = match b {
            b'(' => Some(0),
            b'[' => Some(1),
            b'{' => Some(2),
            b'<' => Some(3),
            _ => None,
        };
        if let Some(t) = open {
            self.nest = self.nest << 2 | t;
            self.depth = self.depth.saturating_add(1);
        } else if matches!(b, b')' | b']' | b'}' | b'>') && self.depth > 0 {
            self.nest >>= 2;
            self.depth -= 1;
        }
        if b.is_ascii_digit() {
            if self.number == 0 {
                self.num_lead = self.lead;
                self.num_len = 0;
                self.num_start = 0;
            }
            self.num_len = self.num_len.saturating_add(1);
            if self.num_len <= 2 {
                self.num_start = self.num_start << 8 | u16::from(b);
            }
            self.number = digit_step(self.number, b);
        } else if !matches!(b, b'.' | b',') || self.number == 0 {
            if self.number != 0 {
                self.prev_number = self.number;
            }
            self.number = 0;
            self.num_len = 0;
            self.num_start = 0;
        }
        if !b.is_ascii_alphanumeric() {
            self.lead = b;
        }
    }
}

/// `FLAG_TOPIC`'s text state, updated byte by byte: the words of the last page title
/// (`<title>…</title>`) and of the last heading line (a line that begins with `=`), so
/// that a word's statistics can depend on what the page or section is about.
pub(super) struct TopicText {
    /// The last 8 bytes, the most recent in the low byte (to find `<title>`).
    last: u64,
    /// Reading a title or a heading, and the hash of its words so far.
    in_title: bool,
    in_head: bool,
    acc: u64,
    /// The next byte begins a line.
    line_start: bool,
    /// The last title's hash (0 before the first), and the topic: the last heading's
    /// hash, or the title's (changed) from a title up to the page's first heading.
    title: u64,
    topic: u64,
}

/// `<title>` as the last 7 bytes of `TopicText::last`.
const TITLE_TAG: u64 = u64::from_be_bytes(*b"\0<title>");

impl TopicText {
    pub(super) fn new() -> Self {
        TopicText {
            last: 0,
            in_title: false,
            in_head: false,
            acc: 0,
            line_start: true,
            title: 0,
            topic: 0,
        }
    }

    /// The last page title's hash (0 before the first).
    #[inline]
    pub(super) fn title(&self) -> u64 {
        self.title
    }

    /// The last heading's hash, or the page title's (changed) before the first heading.
    #[inline]
    pub(super) fn topic(&self) -> u64 {
        self.topic
    }

    /// Learns byte `b`; `word` is the model's hash of the letters before it (the word
    /// that `b` ends, when `b` is not a letter).
    pub(super) fn update(&mut self, b: u8, word: u64) {
        self.last = self.last << 8 | u64::from(b);
        if (self.in_title || self.in_head) && word != 0 && !b.is_ascii_alphabetic() {
            self.acc = step(self.acc, 1) ^ word;
        }
        if self.in_title && b == b'<' {
            self.in_title = false;
            self.title = self.acc | 1;
            self.topic = self.title ^ 2;
        } else if b == b'>' && self.last & 0xff_ffff_ffff_ffff == TITLE_TAG {
            self.in_title = true;
            self.in_head = false;
            self.acc = 0;
        }
        if b == b'\n' {
            if self.in_head {
                self.in_head = false;
                self.topic = self.acc;
            }
        } else if self.line_start && b == b'=' && !self.in_title {
            self.in_head = true;
            self.acc = 0;
        }
        self.line_start = b == b'\n';
    }
}

/// `FLAG_DIST`'s text state, updated byte by byte: the bytes since the last markup byte
/// and which one it was, and the bytes since the last punctuation.
pub(super) struct DistText {
    /// Bytes since the last of `| [ ] { } < > = ' * #` (saturating), and that byte (0
    /// before the first).
    d_mark: u8,
    mark: u8,
    /// Bytes since the last of `. , ; : ! ?` (saturating).
    d_punct: u16,
}

impl DistText {
    pub(super) fn new() -> Self {
        DistText {
            d_mark: 0,
            mark: 0,
            d_punct: 0,
        }
    }

    /// The distance since the last markup byte (capped at 31) << 12, that byte << 4 and
    /// the distance since the last punctuation in 16 classes (exact up to 7, then one
    /// class per power of two).
    #[inline]
    pub(super) fn code(&self) -> u64 {
        let d = self.d_punct;
        let punct = if d < 8 {
            d
        } else {
            (4 + 16 - d.leading_zeros() as u16).min(15)
        };
        u64::from(self.d_mark.min(31)) << 12 | u64::from(self.mark) << 4 | u64::from(punct)
    }

    /// Learns byte `b`.
    pub(super) fn update(&mut self, b: u8) {
        self.d_mark = self.d_mark.saturating_add(1);
        self.d_punct = self.d_punct.saturating_add(1);
        match b {
            b'.' | b',' | b';' | b':' | b'!' | b'?' => self.d_punct = 0,
            b'|' | b'[' | b']' | b'{' | b'}' | b'<' | b'>' | b'=' | b'\'' | b'*' | b'#' => {
                self.d_mark = 0;
                self.mark = b;
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

    #[test]
    fn tracks_lines_brackets_and_numbers() {
        let mut m = MoreText::new();
        for &b in b"ab|cd\nx(y[1,234" {
            m.update(b);
        }
        // After "x(y[1,234": past the end of "ab|cd" (0), and the column capped at 8.
        assert_eq!(m.above(8), 8 << 16);
        assert_eq!(m.nest(), (0b0001 << 3) | 2);
        assert_eq!(
            m.num_shape(),
            4 << 16 | u64::from(b'1') << 8 | u64::from(b'2')
        );
        assert_eq!(m.num_lead(), b'[');
        // In a number of 4 digits after `[`: 32 + 8·3 + 4.
        assert_eq!(m.selector(), 60);
        let n = m.number();
        assert_ne!(n, 0);
        for &b in b"]) 7" {
            m.update(b);
        }
        assert_eq!((m.nest(), m.prev_number()), (0, n));
        assert_eq!(m.num_shape(), 1 << 16 | u64::from(b'7'));
        assert_eq!(m.selector(), 32);
        m.update(b'(');
        // Outside a number: `(` innermost (0), depth 1, mid-line.
        assert_eq!(m.selector(), 1);
        let mut m = MoreText::new();
        for &b in b"abc\nX" {
            m.update(b);
        }
        assert_eq!(m.above(8), 1 << 16 | u64::from(b'b') << 8 | u64::from(b'c'));
        assert_eq!(m.selector(), 16);
    }

    #[test]
    fn tracks_titles_and_headings() {
        let mut t = TopicText::new();
        let mut word = 0u64;
        let mut feed = |t: &mut TopicText, s: &[u8]| {
            for &b in s {
                t.update(b, word);
                word = if b.is_ascii_alphabetic() {
                    step(word, b.to_ascii_lowercase())
                } else {
                    0
                };
            }
        };
        feed(&mut t, b"x\n  <title>Foo Bar</title>\nText ");
        let (title, topic) = (t.title(), t.topic());
        assert_ne!(title, 0);
        assert_ne!(topic, title);
        feed(&mut t, b"a = b\n== History ==\nMore");
        let head = t.topic();
        assert_ne!(head, topic);
        assert_eq!(t.title(), title);
        feed(&mut t, b" x\n=== History ===\n");
        // The same words, whatever the heading level.
        assert_eq!(t.topic(), head);
        feed(&mut t, b"<title>Foo Bar</title>");
        assert_eq!((t.title(), t.topic()), (title, topic));
    }

    #[test]
    fn measures_distances() {
        let mut d = DistText::new();
        for &b in b"a, [[b" {
            d.update(b);
        }
        // One byte since `[`, four since `,`.
        assert_eq!(d.code(), 1 << 12 | u64::from(b'[') << 4 | 4);
        for _ in 0..40 {
            d.update(b'x');
        }
        // 44 bytes since `,`: 4 + 6 = class 10 (32..=63).
        assert_eq!(d.code(), 31 << 12 | u64::from(b'[') << 4 | 10);
    }
}
