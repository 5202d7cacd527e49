package config

import "testing"

func TestAdmissionSection(t *testing.T) {
	t.Parallel()
	runSection(t, (*reader).admission, map[string]sectionCase[Admission]{
		"defaults": {want: &Admission{AdmissionMode: "adaptive", HookMaxInFlight: 256, HookMinInFlight: 4}},
		"fixed": {env: []string{"HOOK_ADMISSION=Fixed", "HOOK_MAX_IN_FLIGHT=64"},
			want: &Admission{AdmissionMode: "fixed", HookMaxInFlight: 64, HookMinInFlight: 4}},
		"every problem at once": {env: []string{"HOOK_ADMISSION=gradient", "HOOK_MAX_IN_FLIGHT=0", "HOOK_MIN_IN_FLIGHT=x"},
			problems: []string{"HOOK_ADMISSION: must be one of adaptive, fixed", "HOOK_MAX_IN_FLIGHT: must be a whole number",
				"HOOK_MIN_IN_FLIGHT: must be a whole number"}},
		"floor over ceiling": {env: []string{"HOOK_MAX_IN_FLIGHT=8", "HOOK_MIN_IN_FLIGHT=9"},
			problems: []string{"HOOK_MIN_IN_FLIGHT: must be at most HOOK_MAX_IN_FLIGHT (8)"}},
	})
}
