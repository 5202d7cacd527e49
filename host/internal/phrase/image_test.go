package phrase

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"errors"
	"image"
	"image/png"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestImage(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"tree lamp", "quiet horse run", "bright window garden", "aaaaaa bbbbbb cccccc xx", "w"} {
		b, err := Image(text)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if got := img.Bounds(); got != image.Rect(0, 0, ImageWidth, ImageHeight) {
			t.Errorf("%q: bounds %v", text, got)
		}
		dark, light := 0, 0
		for y := 0; y < ImageHeight; y++ {
			for x := 0; x < ImageWidth; x++ {
				r, _, _, _ := img.At(x, y).RGBA()
				switch {
				case r < 0x4000:
					dark++
				case r > 0xe000:
					light++
				}
			}
		}
		// Text is dark on a mostly light background.
		if dark < 200 {
			t.Errorf("%q: only %d dark pixels", text, dark)
		}
		if light < ImageWidth*ImageHeight/2 {
			t.Errorf("%q: only %d light pixels", text, light)
		}
		if len(b) > 12<<10 {
			t.Errorf("%q: PNG is %d bytes, want < 12 KB", text, len(b))
		}
		t.Logf("%q: %d bytes, %d dark pixels", text, len(b), dark)
	}
}

// widestStyles sets every glyph of text in the face and size that make it widest.
func widestStyles(t *testing.T, text string) []style {
	t.Helper()
	styles := make([]style, utf8.RuneCountInString(text))
	best, bestW := 0, 0.0
	for f := range fontFiles {
		for i := range styles {
			styles[i] = style{font: f, scale: 100}
		}
		gs, err := glyphsFor(text, styles, fontSizes[0])
		if err != nil {
			t.Fatal(err)
		}
		var w float64
		for _, g := range gs {
			w += g.advance
		}
		if w > bestW {
			best, bestW = f, w
		}
	}
	for i := range styles {
		styles[i] = style{font: best, scale: glyphScales[len(glyphScales)-1]}
	}
	return styles
}

func TestLayoutFits(t *testing.T) {
	t.Parallel()
	// The three widest words of each list make the widest real phrase.
	for _, lang := range []string{"en", "es", "fr", "pt"} {
		words, err := Words(lang)
		if err != nil {
			t.Fatal(err)
		}
		advance := func(w string) float64 {
			gs, err := glyphsFor(w, widestStyles(t, w), fontSizes[0])
			if err != nil {
				t.Fatal(err)
			}
			var a float64
			for _, g := range gs {
				a += g.advance
			}
			return a
		}
		widest := slices.Clone(words)
		slices.SortFunc(widest, func(a, b string) int { return cmp.Compare(advance(b), advance(a)) })
		tests := map[string]struct {
			text    string
			minSize int
		}{
			"widest words":  {strings.Join(widest[:3], " "), 30},
			"short phrase":  {"tree lamp", fontSizes[0]},
			"24 wide chars": {"wwwwww mmmmmm wwwwww mmm", 26},
		}
		for name, tc := range tests {
			_, width, size, err := layout(tc.text, widestStyles(t, tc.text))
			if err != nil {
				t.Fatal(err)
			}
			if width > ImageWidth-2*margin {
				t.Errorf("%s %s %q: %.0f px wide at size %d, want <= %d", lang, name, tc.text, width, size, ImageWidth-2*margin)
			}
			if size < tc.minSize {
				t.Errorf("%s %s %q: font size %d, want >= %d", lang, name, tc.text, size, tc.minSize)
			}
		}
	}
}

func TestImageIsRandomized(t *testing.T) {
	t.Parallel()
	a, _ := Image("quiet horse run")
	b, _ := Image("quiet horse run")
	if bytes.Equal(a, b) {
		t.Error("two renderings of a phrase are identical")
	}
}

func TestImageRejects(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"", strings.Repeat("a", maxRunes+1)} {
		if _, err := Image(text); !errors.Is(err, ErrText) {
			t.Errorf("Image(%d chars) = %v, want ErrText", len(text), err)
		}
	}
}

func TestDataURI(t *testing.T) {
	t.Parallel()
	u, err := DataURI("tree lamp")
	if err != nil {
		t.Fatal(err)
	}
	b64, ok := strings.CutPrefix(string(u), "data:image/png;base64,")
	if !ok {
		t.Fatalf("DataURI = %.40q", u)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
}

func TestImageConcurrent(t *testing.T) {
	t.Parallel()
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			_, err := Image([]string{"tree lamp", "blue river"}[i%2] + " ox")
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkImage(b *testing.B) {
	Image("quiet horse run")
	for b.Loop() {
		if _, err := Image("quiet horse run"); err != nil {
			b.Fatal(err)
		}
	}
}
