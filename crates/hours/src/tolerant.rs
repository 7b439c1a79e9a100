//! The tolerant reading of an `opening_hours` value: what opening_hours.js (the reference) reads
//! without ambiguity although the specification does not allow it, rewritten into the syntax, each
//! liberty named in a warning. Only a value the strict parser refused comes here, and only what has one
//! reading is rewritten:
//!
//! - an en dash, em dash or minus sign for a hyphen, and spaces around a hyphen (`Mon - Fri`);
//! - English day names and lower-case abbreviations (`Monday`, `Mon`, `mo`) for `Mo`;
//! - a time with a dot (`10.00`) or in 12-hour form (`10am`, `12:30 pm`) for `10:00`, `12:30`;
//! - an hour without minutes in a time range (`10-12`), outside dates and weeks (`Apr 10-16` is a date
//!   range, and stays one);
//! - a day glued to its time (`Fr11:00-24:00`);
//! - a `;` missing between two day rules (`Mo-Fr 09:00-18:00 Sa 10:00-12:00`): the second rule starts
//!   at its day, as its writer meant; opening_hours.js reads one rule with both days, and warns.
//!
//! Comments (in double quotes) are kept as typed.

/// A piece of the value.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Comment(String),
    Word(String),
    /// Digits alone (`10`, `2026`).
    Number(String),
    /// `HH:MM` (already rewritten from `10.00` or `10am`).
    Time(String),
    Space,
    Punct(char),
}

const DAYS: [&str; 7] = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// English day names, lower case, with their abbreviation in the syntax.
const DAY_NAMES: [(&str, &str); 24] = [
    ("monday", "Mo"),
    ("mon", "Mo"),
    ("tuesday", "Tu"),
    ("tues", "Tu"),
    ("tue", "Tu"),
    ("wednesday", "We"),
    ("wed", "We"),
    ("thursday", "Th"),
    ("thurs", "Th"),
    ("thur", "Th"),
    ("thu", "Th"),
    ("friday", "Fr"),
    ("fri", "Fr"),
    ("saturday", "Sa"),
    ("sat", "Sa"),
    ("sunday", "Su"),
    ("sun", "Su"),
    ("mo", "Mo"),
    ("tu", "Tu"),
    ("we", "We"),
    ("th", "Th"),
    ("fr", "Fr"),
    ("sa", "Sa"),
    ("su", "Su"),
];

/// The value rewritten, and a warning per kind of liberty taken (none: nothing to rewrite).
pub(crate) fn rewrite(value: &str) -> (String, Vec<String>) {
    let mut warnings = Warnings::default();
    let tokens = tokenize(value, &mut warnings);
    let tokens = rewrite_tokens(tokens, &mut warnings);
    let mut out = String::new();
    for token in &tokens {
        match token {
            Token::Comment(text) => {
                out.push('"');
                out.push_str(text);
                out.push('"');
            }
            Token::Word(text) | Token::Number(text) | Token::Time(text) => out.push_str(text),
            Token::Space => out.push(' '),
            Token::Punct(c) => out.push(*c),
        }
    }
    (out, warnings.0)
}

#[derive(Default)]
struct Warnings(Vec<String>);

impl Warnings {
    fn add(&mut self, message: String) {
        if !self.0.contains(&message) {
            self.0.push(message);
        }
    }
}

fn tokenize(value: &str, warnings: &mut Warnings) -> Vec<Token> {
    let chars: Vec<char> = value.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            let end = chars[i + 1..].iter().position(|c| *c == '"').map_or(chars.len(), |p| i + 1 + p);
            tokens.push(Token::Comment(chars[i + 1..end].iter().collect()));
            i = end + 1;
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let hours: String = chars[start..i].iter().collect();
            let mut minutes = None;
            if matches!(chars.get(i), Some(':' | '.'))
                && chars.get(i + 1).is_some_and(char::is_ascii_digit)
                && chars.get(i + 2).is_some_and(char::is_ascii_digit)
                && !chars.get(i + 3).is_some_and(char::is_ascii_digit)
                && hours.len() <= 2
            {
                if chars[i] == '.' {
                    warnings.add(format!(
                        "`{hours}.{}{}` read as `{hours}:{}{}`",
                        chars[i + 1],
                        chars[i + 2],
                        chars[i + 1],
                        chars[i + 2]
                    ));
                }
                minutes = Some(format!("{}{}", chars[i + 1], chars[i + 2]));
                i += 3;
            }
            // A 12-hour time: `10am`, `10 pm`, `10:30 a.m.`.
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let suffix: String = chars[j..].iter().take(4).collect::<String>().to_ascii_lowercase();
            let meridiem = ["a.m.", "p.m.", "am", "pm"].into_iter().find(|m| suffix.starts_with(m)).filter(|m| {
                // Not the start of a longer word.
                !chars.get(j + m.len()).is_some_and(|c| c.is_alphabetic())
            });
            if let (Some(meridiem), Ok(hour)) = (meridiem, hours.parse::<u32>())
                && (1..=12).contains(&hour)
                && hours.len() <= 2
            {
                let pm = meridiem.starts_with('p');
                let hour24 = match (hour, pm) {
                    (12, false) => 0,
                    (12, true) => 12,
                    (h, true) => h + 12,
                    (h, false) => h,
                };
                let minutes = minutes.unwrap_or_else(|| "00".into());
                let typed: String = chars[start..j + meridiem.len()].iter().collect();
                let time = format!("{hour24:02}:{minutes}");
                warnings.add(format!("`{typed}` read as `{time}`"));
                tokens.push(Token::Time(time));
                i = j + meridiem.len();
                continue;
            }
            match minutes {
                Some(minutes) => tokens.push(Token::Time(format!("{hours}:{minutes}"))),
                None => tokens.push(Token::Number(hours)),
            }
            continue;
        }
        if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
            continue;
        }
        if c.is_whitespace() {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            tokens.push(Token::Space);
            continue;
        }
        let c = match c {
            '–' | '—' | '−' => {
                warnings.add(format!("`{c}` read as `-`"));
                '-'
            }
            other => other,
        };
        tokens.push(Token::Punct(c));
        i += 1;
    }
    tokens
}

fn is_day(token: &Token) -> bool {
    matches!(token, Token::Word(w) if DAYS.contains(&w.as_str()) || w == "PH" || w == "SH")
}

fn rewrite_tokens(tokens: Vec<Token>, warnings: &mut Warnings) -> Vec<Token> {
    // Day names first.
    let mut tokens: Vec<Token> = tokens
        .into_iter()
        .map(|token| match token {
            Token::Word(word) => {
                let lower = word.to_ascii_lowercase();
                match DAY_NAMES.iter().find(|(name, _)| *name == lower) {
                    Some((_, day)) if word != *day => {
                        warnings.add(format!("`{word}` read as `{day}`"));
                        Token::Word((*day).to_owned())
                    }
                    _ if lower == "ph" || lower == "sh" => Token::Word(lower.to_ascii_uppercase()),
                    _ => Token::Word(word),
                }
            }
            other => other,
        })
        .collect();

    // Spaces around a hyphen between days or times go.
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] == Token::Punct('-') {
            if i + 1 < tokens.len() && tokens[i + 1] == Token::Space {
                tokens.remove(i + 1);
            }
            if i > 0 && tokens[i - 1] == Token::Space {
                tokens.remove(i - 1);
                i -= 1;
            }
        }
        i += 1;
    }

    // Hours without minutes in a time range, outside dates and weeks.
    let mut in_dates = false;
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    for n in 0..tokens.len() {
        let token = tokens[n].clone();
        match &token {
            Token::Word(w) if MONTHS.contains(&w.as_str()) || w == "week" => in_dates = true,
            Token::Word(_) if is_day(&token) => in_dates = false,
            Token::Time(_) => in_dates = false,
            Token::Punct(';') | Token::Punct('|') => in_dates = false,
            _ => {}
        }
        if let Token::Number(digits) = &token
            && !in_dates
            && digits.len() <= 2
            && digits.parse::<u32>().is_ok_and(|h| h <= 24)
        {
            let in_range = tokens.get(n + 1) == Some(&Token::Punct('-'))
                && matches!(tokens.get(n + 2), Some(Token::Number(_) | Token::Time(_)))
                || n >= 2 && tokens[n - 1] == Token::Punct('-') && matches!(out.get(n - 2), Some(Token::Time(_)));
            if in_range {
                let time = format!("{:02}:00", digits.parse::<u32>().unwrap_or(0));
                warnings.add(format!("hours without minutes: `{digits}` read as `{time}`"));
                out.push(Token::Time(time));
                continue;
            }
        }
        out.push(token);
    }
    let tokens = out;

    // A day glued to its time gets its space; a day rule after a time range gets its `;`.
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len() + 4);
    for token in tokens {
        let previous = out.last().cloned();
        if matches!(token, Token::Time(_) | Token::Number(_))
            && let Some(day @ Token::Word(_)) = &previous
            && is_day(day)
        {
            warnings.add("a space added between a day and its time".to_owned());
            out.push(Token::Space);
        }
        if let Token::Word(day) = &token
            && is_day(&token)
            && previous == Some(Token::Space)
            && matches!(out.iter().rev().nth(1), Some(Token::Time(_)))
        {
            warnings.add(format!("a `;` added before the rule that starts at `{day}`"));
            out.pop();
            out.push(Token::Punct(';'));
            out.push(Token::Space);
        }
        out.push(token);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn tolerant_forms_are_rewritten_and_named() {
        let cases = [
            ("10-12", "10:00-12:00"),
            ("10.00-12.00", "10:00-12:00"),
            ("10am-12pm", "10:00-12:00"),
            ("10:30 am - 1:30 pm", "10:30-13:30"),
            ("Fr11:00-24:00", "Fr 11:00-24:00"),
            ("Mo-Fr 09:00-18:00 Sa 10:00-12:00", "Mo-Fr 09:00-18:00; Sa 10:00-12:00"),
            ("Mon - Fri 09:00-18:00", "Mo-Fr 09:00-18:00"),
            ("Mo–Fr 09:00–18:00", "Mo-Fr 09:00-18:00"),
            ("Monday-Friday 9-18", "Mo-Fr 09:00-18:00"),
            ("Apr 10-16 off", "Apr 10-16 off"),
            ("mo-fr 9-12,14-18 \"Mon - Fri 9-5\"", "Mo-Fr 09:00-12:00,14:00-18:00 \"Mon - Fri 9-5\""),
            ("2021 Apr 10-16 off; Mo 9-12", "2021 Apr 10-16 off; Mo 09:00-12:00"),
        ];
        for (typed, expected) in cases {
            let (rewritten, warnings) = rewrite(typed);
            assert_eq!(rewritten, expected, "{typed}");
            assert_eq!(warnings.is_empty(), typed == expected, "{typed}: {warnings:?}");
        }
        let (_, warnings) = rewrite("10.00-12.00");
        assert_eq!(warnings, ["`10.00` read as `10:00`", "`12.00` read as `12:00`"]);
    }
}
