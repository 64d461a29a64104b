/** Number schemas shared by the domain's schemas. */
import { z } from 'zod';

/** A finite number: NaN and ±Infinity are rejected with the value shown. */
export const Finite = z.number().refine(Number.isFinite, { error: 'expected a finite number' });
