import { z } from 'zod';
import { isLuhnValid } from '../internal/provider.js';

/** A card number: 12 to 19 digits (spaces allowed) with a valid Luhn check digit. */
export const cardNumber = z
  .string()
  .transform((value) => value.replaceAll(' ', ''))
  .refine((value) => /^\d{12,19}$/.test(value), 'expected 12 to 19 digits')
  .refine((value) => isLuhnValid(value), 'the check digit is wrong; check the card number');
