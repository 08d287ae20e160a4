package chat

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// MinMaskedLen is the shortest credential value that is masked in replies
// and tool results: shorter values ("1", "eu") would mask ordinary words.
const MinMaskedLen = 6

// Masked replaces a credential value wherever the model could see or quote it.
const Masked = "[credential hidden]"

// secrets are the agent_context values of a turn's apps, longest first so a
// value that contains another is masked whole.
type secrets struct {
	values []string
	maxLen int
}

func newSecrets(included []appSkill) *secrets {
	seen := map[string]bool{}
	s := &secrets{}
	for _, a := range included {
		for _, v := range a.Context {
			if len(v) >= MinMaskedLen && !seen[v] {
				seen[v] = true
				s.values = append(s.values, v)
				s.maxLen = max(s.maxLen, len(v))
			}
		}
	}
	sort.Slice(s.values, func(i, j int) bool { return len(s.values[i]) > len(s.values[j]) })
	return s
}

func (s *secrets) mask(text string) string {
	for _, v := range s.values {
		text = strings.ReplaceAll(text, v, Masked)
	}
	return text
}

// note streams a remark of the agent's own (why it stopped) and returns it.
func (s *secrets) note(sink Sink, text string) string {
	text = "\n\n" + text
	sink.TextDelta(text)
	return text
}

// maskedStream masks text that arrives in pieces: a value split across two
// deltas is still caught, because the last maxLen-1 bytes are held back
// until more text (or the end) shows whether they start a value.
type maskedStream struct {
	s       *secrets
	pending string
	out     func(string)
}

func (s *secrets) stream(out func(string)) *maskedStream { return &maskedStream{s: s, out: out} }

func (m *maskedStream) write(delta string) {
	if delta == "" {
		return
	}
	m.pending = m.s.mask(m.pending + delta)
	keep := m.s.maxLen - 1
	if keep < 0 {
		keep = 0
	}
	cut := len(m.pending) - keep
	for cut > 0 && cut < len(m.pending) && !utf8.RuneStart(m.pending[cut]) {
		cut-- // never split a character
	}
	if cut <= 0 {
		return
	}
	m.out(m.pending[:cut])
	m.pending = m.pending[cut:]
}

func (m *maskedStream) flush() {
	if m.pending != "" {
		m.out(m.pending)
		m.pending = ""
	}
}
