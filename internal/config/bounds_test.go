package config

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func parseNode(t *testing.T, text string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// TestBudgetCountsAliasesInFull checks that an alias costs what its
// anchor expands to, and that the bound is reported where it is passed.
func TestBudgetCountsAliasesInFull(t *testing.T) {
	t.Parallel()
	// a: 1 list + 3 scalars; b: 1 list + 2 copies of a; keys a and b; the
	// mapping itself: 1 + 2 + 4 + (1 + 8) = 16 values.
	text := "a: &a [x, y, z]\nb: [*a, *a]\n"
	b := NewBudget(Limits{Nodes: 16, ScalarBytes: 1 << 20, MappingEntries: 10})
	if err := b.Add(parseNode(t, text)); err != nil {
		t.Fatalf("16 values within a bound of 16: %v", err)
	}
	b = NewBudget(Limits{Nodes: 15, ScalarBytes: 1 << 20, MappingEntries: 10})
	err := b.Add(parseNode(t, text))
	var le *LimitError
	if !errors.As(err, &le) || le.Line != 2 || le.Column != 9 || !strings.Contains(le.Msg, "more than 15 YAML values") {
		t.Fatalf("got %v; want a LimitError at the second alias, 2:9", err)
	}
	b = NewBudget(Limits{Nodes: 100, ScalarBytes: 8, MappingEntries: 10})
	if err := b.Add(parseNode(t, "a: &a xyz\nb: [*a, *a]\n")); err == nil || !strings.Contains(err.Error(), "text expands to more than 8 B") {
		t.Fatalf("got %v; want the text bound", err)
	}
	b = NewBudget(Limits{Nodes: 100, ScalarBytes: 100, MappingEntries: 2})
	if err := b.Add(parseNode(t, "m: {a: 1, b: 2, c: 3}\n")); err == nil || !strings.Contains(err.Error(), "this mapping has 3 keys, more than the 2") {
		t.Fatalf("got %v; want the mapping bound", err)
	}
}

// TestBudgetIsLinearInTheFile checks that counting a billion-value alias
// bomb walks only the file as written: it returns at once.
func TestBudgetIsLinearInTheFile(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	err := NewBudget(Limits{Nodes: 1 << 40, ScalarBytes: 1 << 40, MappingEntries: 10}).Add(parseNode(t, b.String()))
	if err != nil {
		t.Fatalf("a billion values within a bound of 2^40: %v", err)
	}
}
