package api

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"skiff.dev/skiff/internal/api/v2pb"
)

// The gRPC messages keep Skaffold's wire format (testdata/
// skaffold-v2-proto.txt, read from Skaffold's .proto files): every field
// below 100 has the number and wire type of Skaffold's field of that
// name; every field of Skaffold's in a message skiff defines is there or
// reserved, so that its number is never reused; the enum values skiff
// sends have Skaffold's numbers; the service has Skaffold's calls.
func TestProtoKeepsSkaffoldNumbers(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/skaffold-v2-proto.txt")
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]protoField{}
	enums := map[string]int{}
	rpcs := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 4 && f[0] == "field":
			n, _ := strconv.Atoi(f[2])
			fields[f[1]] = protoField{n, f[3]}
		case len(f) == 3 && f[0] == "enum":
			enums[f[1]], _ = strconv.Atoi(f[2])
		case len(f) >= 4 && f[0] == "rpc":
			rpcs[f[1]] = strings.Join(f[2:], " ")
		}
	}
	file := v2pb.File_skaffold_proto
	if p := file.Package(); p != "proto.v2" {
		t.Errorf("package %s, want Skaffold's proto.v2", p)
	}
	msgs := file.Messages()
	for i := range msgs.Len() {
		checkMessage(t, msgs.Get(i), "", fields)
	}
	for _, e := range []protoreflect.EnumDescriptor{
		v2pb.LogLevel(0).Descriptor(), v2pb.StatusCode(0).Descriptor(), v2pb.SuggestionCode(0).Descriptor(),
	} {
		if e.ParentFile().Package() != "proto.enums" {
			t.Errorf("enum %s, want it in Skaffold's proto.enums", e.FullName())
		}
		for i := range e.Values().Len() {
			v := e.Values().Get(i)
			name := string(e.Name()) + "." + string(v.Name())
			if n, ok := enums[name]; !ok || n != int(v.Number()) {
				t.Errorf("enum value %s = %d, Skaffold's is %d (known: %t)", name, v.Number(), n, ok)
			}
		}
	}
	svc := file.Services().ByName("SkaffoldV2Service")
	if svc == nil {
		t.Fatal("no SkaffoldV2Service")
	}
	if svc.Methods().Len() != len(rpcs) {
		t.Errorf("%d calls, Skaffold has %d", svc.Methods().Len(), len(rpcs))
	}
	for name, want := range rpcs {
		m := svc.Methods().ByName(protoreflect.Name(name))
		if m == nil {
			t.Errorf("no call %s", name)
			continue
		}
		got := string(m.Input().FullName()) + " "
		if m.IsStreamingServer() {
			got += "stream "
		}
		got += string(m.Output().FullName())
		if got != want {
			t.Errorf("call %s: %s, Skaffold's is %s", name, got, want)
		}
	}
}

// protoField is a field of Skaffold's: its number and wire type.
type protoField struct {
	number int
	wire   string
}

// checkMessage checks m's fields (and its nested messages', prefix
// naming the outer ones) against Skaffold's, all by message.field.
func checkMessage(t *testing.T, m protoreflect.MessageDescriptor, prefix string, all map[string]protoField) {
	t.Helper()
	if m.IsMapEntry() {
		return
	}
	name := prefix + string(m.Name())
	skaffolds := false
	for key := range all {
		if strings.HasPrefix(key, name+".") {
			skaffolds = true
		}
	}
	if !skaffolds {
		return // skiff's own message (PodEvent)
	}
	fs := m.Fields()
	for i := range fs.Len() {
		f := fs.Get(i)
		full := name + "." + string(f.Name())
		sf, ok := all[full]
		if f.Number() >= 100 {
			if ok {
				t.Errorf("%s = %d is skiff's addition, but Skaffold has it as %d", full, f.Number(), sf.number)
			}
			continue
		}
		if !ok || sf.number != int(f.Number()) || sf.wire != wireType(f) {
			t.Errorf("%s = %d (%s); Skaffold's is %d (%s), known: %t", full, f.Number(), wireType(f), sf.number, sf.wire, ok)
		}
	}
	for key, sf := range all {
		if field, found := strings.CutPrefix(key, name+"."); found && !strings.Contains(field, ".") {
			if fs.ByName(protoreflect.Name(field)) == nil && !m.ReservedRanges().Has(protoreflect.FieldNumber(sf.number)) {
				t.Errorf("%s (Skaffold's field %d) is neither defined nor reserved", key, sf.number)
			}
		}
	}
	nested := m.Messages()
	for i := range nested.Len() {
		checkMessage(t, nested.Get(i), name+".", all)
	}
}

// wireType is how f is encoded: varint or len (length-delimited).
func wireType(f protoreflect.FieldDescriptor) string {
	if f.IsList() || f.IsMap() {
		return "len"
	}
	switch f.Kind() {
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return "len"
	case protoreflect.BoolKind, protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		return "varint"
	}
	return fmt.Sprint(f.Kind())
}
