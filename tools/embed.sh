#!/bin/sh
# Turn a text file into a C string literal named $2, on stdout.
# usage: tools/embed.sh FILE NAME
set -eu
printf '/* Generated from %s by tools/embed.sh: do not edit. */\n' "$1"
printf 'const char %s[] =\n' "$2"
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$/\\n"/' "$1"
printf ';\n'
