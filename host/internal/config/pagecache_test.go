package config

import "testing"

func TestPageCacheSection(t *testing.T) {
	t.Parallel()
	runSection(t, (*reader).pageCache, map[string]sectionCase[PageCache]{
		"default": {want: &PageCache{PageImageCache: 1000}},
		"off":     {env: []string{"PAGE_IMAGE_CACHE=0"}, want: &PageCache{PageImageCache: 0}},
		"bad":     {env: []string{"PAGE_IMAGE_CACHE=-1"}, problems: []string{"PAGE_IMAGE_CACHE: must be a whole number from 0 to 1000000"}},
	})
}
