package faceid

import "image"

func rectOf(x, y, w, h int) image.Rectangle { return image.Rect(x, y, x+w, y+h) }
