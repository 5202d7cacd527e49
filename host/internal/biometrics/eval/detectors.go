package eval

import (
	"fmt"
	"strings"

	"github.com/smsplus/smsplus/host/internal/biometrics/local"
)

// Detectors returns the detectors `smsplus biometrics eval` reports, baselines
// first (in the paper's table order of their published figures), then the local
// engine's.
func Detectors() []Detector {
	return []Detector{
		ScaledManhattan{},
		NearestNeighborMahalanobis{},
		OutlierCount{},
		Mahalanobis{},
		Manhattan{},
		Euclidean{},
		Local{},
	}
}

// SelectDetectors returns the detectors named in a comma-separated list ("" or
// "all" for all of them).
func SelectDetectors(names string) ([]Detector, error) {
	all := Detectors()
	if names == "" || names == "all" {
		return all, nil
	}
	var out []Detector
	for name := range strings.SplitSeq(names, ",") {
		found := false
		for _, d := range all {
			if d.Name() == strings.TrimSpace(name) {
				out = append(out, d)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown detector %q", name)
		}
	}
	return out, nil
}

// LearnPrior learns the local engine's built-in prior from every subject of the
// benchmark, from the same samples and in the same way as the evaluation does per
// fold (see population).
func LearnPrior(ds *Dataset) (*local.Prior, error) {
	return local.LearnPrior(population(ds, -1), local.LearnOptions{Samples: local.TableSizes})
}
