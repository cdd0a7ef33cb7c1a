// placeholder; replaced by the target's real code
