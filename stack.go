package molotov

// popLast removes the last element of the stack *s and returns it, or
// false when the stack is empty. The slot it leaves is cleared, so that
// the slice's array keeps nothing alive.
func popLast[T any](s *[]*T) (*T, bool) {
	n := len(*s)
	if n == 0 {
		return nil, false
	}
	x := (*s)[n-1]
	(*s)[n-1] = nil
	*s = (*s)[:n-1]
	return x, true
}
