package config

// Admission holds the limit on hooks in flight (package admission).
type Admission struct {
	// AdmissionMode is "adaptive" (the limit follows the hooks' latency) or
	// "fixed" (the limit is HookMaxInFlight) (HOOK_ADMISSION).
	AdmissionMode string
	// HookMaxInFlight is the ceiling of the limit, and the limit when fixed
	// (HOOK_MAX_IN_FLIGHT).
	HookMaxInFlight int
	// HookMinInFlight is the floor of an adaptive limit (HOOK_MIN_IN_FLIGHT).
	HookMinInFlight int
}

func (r *reader) admission() Admission {
	c := Admission{
		AdmissionMode:   r.oneOf("hook_admission", "adaptive", "fixed"),
		HookMaxInFlight: r.int("hook_max_in_flight", 1, 100000),
		HookMinInFlight: r.int("hook_min_in_flight", 1, 100000),
	}
	if c.HookMinInFlight > c.HookMaxInFlight {
		r.problem("HOOK_MIN_IN_FLIGHT: must be at most HOOK_MAX_IN_FLIGHT (%d)", c.HookMaxInFlight)
	}
	return c
}
