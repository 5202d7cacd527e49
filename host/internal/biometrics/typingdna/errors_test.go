package typingdna

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/smsplus/smsplus/host/internal/biometrics"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		status, code int
		want         Kind
	}{
		"401/32":             {401, 32, KindCredentials},
		"403/33":             {403, 33, KindCredentials},
		"401 no code":        {401, 0, KindCredentials},
		"429/52":             {429, 52, KindTransient},
		"452/43":             {452, 43, KindTransient},
		"451/45":             {451, 45, KindTransient},
		"454/47":             {454, 47, KindTransient},
		"500/48":             {500, 48, KindTransient},
		"503/49":             {503, 49, KindTransient},
		"502 proxy":          {502, 0, KindTransient},
		"concurrency 37":     {200, 37, KindTransient},
		"445/36":             {445, 36, KindBadPattern},
		"449/41":             {449, 41, KindBadPattern},
		"448/40":             {448, 40, KindBadPattern},
		"450/44":             {450, 44, KindBadPattern},
		"453/46":             {453, 46, KindBadPattern},
		"447/42":             {447, 42, KindBadPattern},
		"458/55":             {458, 55, KindBadPattern},
		"459/56":             {459, 56, KindBadPattern},
		"200/3 new position": {200, 3, KindBadPattern},
		"200/2 duplicate":    {200, 2, KindReplay},
		"200/5 sent before":  {200, 5, KindReplay},
		"200/4 no patterns":  {200, 4, KindConfig},
		"400/31":             {400, 31, KindConfig},
		"404/38":             {404, 38, KindConfig},
		"405/34":             {405, 34, KindConfig},
		"444/35":             {444, 35, KindConfig},
		"456/53":             {456, 53, KindConfig},
		"461/51":             {461, 51, KindConfig},
		"462/57":             {462, 57, KindConfig},
		"418 unknown 4xx":    {418, 0, KindConfig},
		"200 unknown code":   {200, 77, KindUnexpected},
		"code beats status":  {500, 36, KindBadPattern},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := classify(tc.status, tc.code); got != tc.want {
				t.Errorf("classify(%d, %d) = %v, want %v", tc.status, tc.code, got, tc.want)
			}
		})
	}
}

func TestAPIErrorMapping(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		err       *APIError
		sentinels []error // must match
		not       []error // must not match
		text      string  // in Error()
	}{
		"credentials": {
			&APIError{Op: "get user", Kind: KindCredentials, Status: 401, Code: 32, Message: "apiKey/apiSecret combination is invalid"},
			[]error{biometrics.ErrUnavailable, ErrCredentials}, []error{biometrics.ErrBadPattern, ErrReplay},
			"typingdna get user: TypingDNA rejected the API key/secret; check TYPINGDNA_API_KEY and TYPINGDNA_API_SECRET (HTTP 401, message_code 32: apiKey/apiSecret combination is invalid)",
		},
		"replay": {
			&APIError{Op: "verify", Kind: KindReplay, Status: 200, Code: 2},
			[]error{biometrics.ErrBadPattern, ErrReplay}, []error{biometrics.ErrUnavailable},
			"replay protection",
		},
		"bad pattern": {
			&APIError{Op: "verify", Kind: KindBadPattern, Status: 445, Code: 36},
			[]error{biometrics.ErrBadPattern}, []error{biometrics.ErrUnavailable, ErrReplay},
			"refused the typing pattern (HTTP 445, message_code 36)",
		},
		"timeout": {
			&APIError{Op: "get user", Kind: KindTransient, Err: context.DeadlineExceeded},
			[]error{biometrics.ErrUnavailable, context.DeadlineExceeded}, []error{biometrics.ErrBadPattern, context.Canceled},
			"no answer from TypingDNA in time",
		},
		"auto-enroll off": {
			&APIError{Op: "verify", Kind: KindConfig, Status: 200, Code: 4},
			[]error{biometrics.ErrUnavailable}, []error{biometrics.ErrBadPattern, ErrCredentials},
			"turn on auto-enroll",
		},
		"unexpected": {
			&APIError{Op: "get user", Kind: KindUnexpected, Status: 200},
			[]error{biometrics.ErrUnavailable}, []error{biometrics.ErrBadPattern},
			"check TYPINGDNA_SERVER",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			wrapped := errors.Join(errors.New("outer"), tc.err)
			for _, s := range tc.sentinels {
				if !errors.Is(wrapped, s) {
					t.Errorf("%v does not match %v", tc.err, s)
				}
			}
			for _, s := range tc.not {
				if errors.Is(wrapped, s) {
					t.Errorf("%v matches %v", tc.err, s)
				}
			}
			if !strings.Contains(tc.err.Error(), tc.text) {
				t.Errorf("Error() = %q, want it to contain %q", tc.err.Error(), tc.text)
			}
			if tc.err.Transient() != (tc.err.Kind == KindTransient) {
				t.Error("Transient() disagrees with Kind")
			}
		})
	}
}

func TestShortenAndMask(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 200)
	s := shorten(long)
	if len(s) > 165 || !strings.HasSuffix(s, "…") || !strings.HasPrefix(long, strings.TrimSuffix(s, "…")) {
		t.Errorf("shorten cut badly: %q", s)
	}
	if got := maskID(alice); got != alice[:6]+"…" {
		t.Errorf("maskID = %q", got)
	}
	if got := maskID("short"); got != "…" {
		t.Errorf("maskID(short) = %q", got)
	}
}
