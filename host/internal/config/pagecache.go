package config

// PageCache holds the page's caches.
type PageCache struct {
	// PageImageCache is the number of phrase images kept, each drawn at the
	// first view of its challenge (PAGE_IMAGE_CACHE; about 20 kB each; 0 draws
	// at every view).
	PageImageCache int
}

func (r *reader) pageCache() PageCache {
	return PageCache{PageImageCache: r.int("page_image_cache", 0, 1000000)}
}
