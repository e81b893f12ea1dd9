// Not a reactor: a plain command module (no obscura_run export). Must be
// refused at install as malformed, without an escape alert.
package main

func main() {}
