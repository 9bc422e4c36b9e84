package main

deny contains "no kind" if not input.kind
