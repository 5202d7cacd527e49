package local

import (
	_ "embed"
	"encoding/json"
	"sync"
)

// TableSizes are the enrollment sizes the built-in prior has tables for. A model
// of k samples uses the table of the largest size not above k.
var TableSizes = []int{2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 30, 50, 95}

// The built-in prior was learned from all 51 subjects of the CMU keystroke
// benchmark (Killourhy and Maxion 2009) by
//
//	smsplus biometrics prior --dataset DSL-StrongPasswordData.csv > prior_cmu.json
//
// using, like the evaluation, only samples no protocol tests; the command is
// deterministic (the same file gives the same bytes). It holds statistics of
// deviations and thresholds, not anyone's timings. The evaluation never
// measures with it: it learns the same tables per fold from subjects outside
// the fold. Change the detector or the learning, and regenerate it.
//
//go:embed prior_cmu.json
var priorJSON []byte

var defaultPrior = sync.OnceValue(func() *Prior {
	var p Prior
	if err := json.Unmarshal(priorJSON, &p); err != nil || len(p.Tables) == 0 {
		panic("local: built-in prior does not decode")
	}
	for _, t := range p.Tables {
		for _, tab := range t.LLR {
			if len(tab) != gridN {
				panic("local: built-in prior has a table of the wrong size")
			}
		}
		// A prior from before the tempo table and the strict threshold would
		// score without the tempo and make the strict point accept nothing.
		if len(t.Tempo) != tempoN || t.Strict >= t.Accept {
			panic("local: built-in prior lacks the tempo table or the strict threshold; regenerate it")
		}
	}
	return &p
})

// DefaultPrior returns the built-in prior.
func DefaultPrior() *Prior { return defaultPrior() }
