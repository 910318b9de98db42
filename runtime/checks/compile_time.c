/* compile_time.c - the ops that never run from a program: Constant, Shape and Size have no
 * kernel, and the windows and MelWeightMatrix (output sizes or values fixed by constant inputs)
 * are always evaluated by the compiler. Their checks refuse any node of theirs ("runs only at
 * compile time"). */
#include "check.h"

KILN_CHECK_NONE(constant);
KILN_CHECK_NONE(shape);
KILN_CHECK_NONE(size);
KILN_CHECK_NONE(hann_window);
KILN_CHECK_NONE(hamming_window);
KILN_CHECK_NONE(blackman_window);
KILN_CHECK_NONE(mel_weight_matrix);
