package debug

import (
	"path"
	"regexp"
	"strings"
)

// site is a simple command inside a container's command line, where a
// runtime's rewrite applies: the whole line, the command after
// docker-entrypoint.sh, or one command of a `sh -c` script.
type site struct {
	// raw are the command's words as written: shell tokens, quotes
	// included, inside a `sh -c` script; plain are the same words
	// unquoted, for reading.
	raw, plain []string
	// rebuild returns the whole command line with the command replaced by
	// words, which are raw; words a rewrite adds are plain words that need
	// no quoting.
	rebuild func(words []string) []string
}

// shells are the shells whose `-c` scripts are looked into.
var shells = map[string]bool{"sh": true, "bash": true, "ash": true, "dash": true, "zsh": true}

// sites returns the simple commands of line a rewrite may apply to, the
// likeliest first: the last command of a `sh -c` script runs the app.
func sites(line []string) []site {
	if len(line) == 0 {
		return nil
	}
	if path.Base(line[0]) == "docker-entrypoint.sh" && len(line) > 1 {
		var out []site
		for _, s := range sites(line[1:]) {
			rebuild := s.rebuild
			s.rebuild = func(w []string) []string { return append([]string{line[0]}, rebuild(w)...) }
			out = append(out, s)
		}
		return out
	}
	if shells[path.Base(line[0])] && len(line) >= 3 && isDashC(line[1]) {
		return scriptSites(line)
	}
	whole := append([]string{}, line...)
	return []site{{raw: whole, plain: whole, rebuild: func(w []string) []string { return w }}}
}

// isDashC reports whether a shell flag argument includes -c (-c, -ec, -ce).
func isDashC(arg string) bool {
	return strings.HasPrefix(arg, "-") && !strings.HasPrefix(arg, "--") && strings.Contains(arg, "c")
}

// scriptSites returns the commands of the script of `sh -c SCRIPT [ARGS]`,
// the last first, each without its leading `exec` and VAR=value words.
func scriptSites(line []string) []site {
	toks := splitShell(line[2])
	var segs [][2]int
	start := 0
	for i, t := range toks {
		if t.op {
			segs = append(segs, [2]int{start, i})
			start = i + 1
		}
	}
	segs = append(segs, [2]int{start, len(toks)})
	var out []site
	for k := len(segs) - 1; k >= 0; k-- {
		from, to := segs[k][0], segs[k][1]
		for from < to && (toks[from].plain == "exec" || assignment.MatchString(toks[from].raw)) {
			from++
		}
		if from == to {
			continue
		}
		s := site{}
		for _, t := range toks[from:to] {
			s.raw = append(s.raw, t.raw)
			s.plain = append(s.plain, t.plain)
		}
		s.rebuild = func(w []string) []string {
			var parts []string
			for _, t := range toks[:from] {
				parts = append(parts, t.raw)
			}
			parts = append(parts, w...)
			for _, t := range toks[to:] {
				parts = append(parts, t.raw)
			}
			out := append([]string{}, line[:2]...)
			out = append(out, strings.Join(parts, " "))
			return append(out, line[3:]...)
		}
		out = append(out, s)
	}
	return out
}

// assignment matches a shell variable assignment word.
var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// token is a word or an operator of a shell script.
type token struct {
	raw, plain string
	op         bool
}

// splitShell splits a shell script into words (quotes kept in raw,
// removed in plain) and the operators that separate commands (; & && ||
// | and newlines). It reads what `sh -c` command lines hold, not all of
// the shell's grammar: a word with $(...) or backquotes keeps its text.
func splitShell(script string) []token {
	var toks []token
	var raw, plain strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			toks = append(toks, token{raw: raw.String(), plain: plain.String()})
			raw.Reset()
			plain.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(script); i++ {
		c := script[i]
		switch {
		case c == '\'':
			inWord = true
			j := strings.IndexByte(script[i+1:], '\'')
			if j < 0 {
				j = len(script) - i - 1
			}
			raw.WriteString(script[i:min(i+j+2, len(script))])
			plain.WriteString(script[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			raw.WriteByte(c)
			for i++; i < len(script) && script[i] != '"'; i++ {
				if script[i] == '\\' && i+1 < len(script) {
					raw.WriteByte('\\')
					i++
				}
				raw.WriteByte(script[i])
				plain.WriteByte(script[i])
			}
			if i < len(script) {
				raw.WriteByte('"')
			}
		case c == '\\' && i+1 < len(script):
			inWord = true
			raw.WriteString(script[i : i+2])
			plain.WriteByte(script[i+1])
			i++
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			for i < len(script) && script[i] != '\n' {
				i++
			}
			i--
		case c == '&' && (inWord && (strings.HasSuffix(raw.String(), ">") || strings.HasSuffix(raw.String(), "<")) || i+1 < len(script) && script[i+1] == '>'):
			// A redirection (2>&1, <&3, &>file), not an operator.
			inWord = true
			raw.WriteByte(c)
			plain.WriteByte(c)
		case c == '\n' || c == ';' || c == '&' || c == '|':
			flush()
			op := string(c)
			if (c == '&' || c == '|') && i+1 < len(script) && script[i+1] == c {
				op += string(c)
				i++
			}
			toks = append(toks, token{raw: op, plain: op, op: true})
		default:
			inWord = true
			raw.WriteByte(c)
			plain.WriteByte(c)
		}
	}
	flush()
	return toks
}

// findSite returns the first site of line whose command match accepts.
func findSite(line []string, match func(cmd string) bool) (site, bool) {
	for _, s := range sites(line) {
		if match(path.Base(s.plain[0])) {
			return s, true
		}
	}
	return site{}, false
}

// lastSite returns the site of line that runs the app: its last command.
func lastSite(line []string) (site, bool) {
	s := sites(line)
	if len(s) == 0 {
		return site{}, false
	}
	return s[0], true
}
