/* depth_to_space.c - DepthToSpace (DCR and CRD) and SpaceToDepth. Each is a reshape to six
 * axes, a transpose and a reshape back; the compiler folds that into the output's 6-D view and
 * the input strides it reads with, so the kernel is one strided copy by element size. */
#include "move.h"

static void kiln_k_depth_to_space(const struct kiln_kernel_args *a)
{
    const struct kiln_p_strided *p = a->params;
    struct kiln_tensor *y = &a->out[0];
    kiln_strided_copy(y->data, a->in[0].data, kiln_dtype_size(y->dtype), p->rank, p->dims,
                      p->strides, 0);
}

KILN_KERNELS(depth_to_space, KILN_K(kiln_k_depth_to_space, UNDEFINED));
KILN_KERNELS(space_to_depth, KILN_K(kiln_k_depth_to_space, UNDEFINED));
