/**
 * Whether an id has the shape the catalogue gives a study offer's id in publishStudy: its code (4 to 20
 * capital letters and digits) and its year, as `K2ENG1510-2024`. A partner that stores a study id refuses
 * one of another shape before it asks anyone; whether a well-shaped id names an offer only the catalogue knows.
 */
export function isStudyId(id: string): boolean {
  return /^[A-Z0-9]{4,20}-\d{4}$/.test(id);
}
