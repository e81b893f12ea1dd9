package faceres

import "image"

func rect(x, y, side int) image.Rectangle { return image.Rect(x, y, x+side, y+side) }
