package eval

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

// The local engine's attack tests (host/internal/biometrics/local/attack_test.go)
// use a few CMU subjects as owners. Their fixture is written from the full
// benchmark by
//
//	go test ./host/internal/biometrics/eval -run TestWriteLocalFixture -args \
//	  -cmu /path/to/DSL-StrongPasswordData.csv -write-local-fixture
var (
	cmuPath      = flag.String("cmu", "", "path of the full DSL-StrongPasswordData.csv")
	writeFixture = flag.Bool("write-local-fixture", false, "write ../local/testdata/cmu_owners.json from -cmu")
)

// fixtureSubjects is how many subjects, in file order, the fixture holds.
const fixtureSubjects = 12

// LocalFixture is the file's shape; local/attack_test.go reads the same.
type LocalFixture struct {
	Source string         `json:"source"`
	Owners []FixtureOwner `json:"owners"`
}

// FixtureOwner is one subject's timings (n holds, then n-1 down-down latencies,
// whole ms).
type FixtureOwner struct {
	Subject string `json:"subject"`
	// First are the subject's first 5 repetitions of session 1: the enrollment
	// samples, and the subject's zero-effort attempts against the other owners.
	First [][]int32 `json:"first"`
	// Logins are the first typing of each of sessions 2-8.
	Logins [][]int32 `json:"logins"`
	// Median is the population-median pattern against this subject: each timing
	// the median over the other 50 subjects of their median.
	Median []int32 `json:"median"`
}

func TestWriteLocalFixture(t *testing.T) {
	if !*writeFixture {
		t.Skip("writes the local engine's fixture with -write-local-fixture")
	}
	raw, err := os.ReadFile(*cmuPath)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ReadCMU(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Subjects) != 51 {
		t.Fatalf("%d subjects: want the full benchmark", len(ds.Subjects))
	}
	fx := LocalFixture{Source: "CMU keystroke benchmark (Killourhy and Maxion, DSN 2009), DSL-StrongPasswordData.csv; written by host/internal/biometrics/eval/fixture_test.go"}
	medians := subjectMedians(ds)
	for i, s := range ds.Subjects[:fixtureSubjects] {
		o := FixtureOwner{Subject: s.ID, Median: medianPattern(medians, i)}
		for _, smp := range s.Samples {
			switch {
			case smp.Session == 1 && smp.Rep <= 5:
				o.First = append(o.First, Timings(smp.Features))
			case smp.Session > 1 && smp.Rep == 1:
				o.Logins = append(o.Logins, Timings(smp.Features))
			}
		}
		fx.Owners = append(fx.Owners, o)
	}
	out, err := json.Marshal(fx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("../local/testdata/cmu_owners.json", append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
