/** Data contracts: the public surface used by the CLI, the dataset loaders, the client and the coordinator. */
export { CONTRACT_FORMAT, DataContract, contractHash, parseContract } from './schema.ts';
export type { ColumnSpec, ColumnType, Contract, ContractInput, FileSpec, LabelSpec } from './schema.ts';
export type { FeatureTransform } from './transform-schema.ts';
export { compileContract } from './compile.ts';
export type { CellValue, CompiledContract, ParseRowsResult, ParsedRow, RowError } from './compile.ts';
export { inferContract, AUTO_MISSING_MARKERS } from './infer.ts';
export type { InferOptions } from './infer.ts';
export { checkData, VIOLATION_KINDS } from './check.ts';
export type { CheckOptions, ColumnStats, ContractReport, Violation, ViolationKind } from './check.ts';
export type { DriftResult } from './drift.ts';
export { CONTRACT_DECLINE_CODE, ContractCheckSummary, summariseForCoordinator } from './summary.ts';
export { dataContractContribution, dataContractExtension, decodeDataContractSum, driftLayout } from './drift-extension.ts';
export type { DataContractSums, DriftAggregate, DriftKey } from './drift-extension.ts';
export { formatContractJson, loadContract, parseContractText, readContractTable, readExamples, writeContract } from './load.ts';
export { withReference } from './refresh.ts';
export type { RefreshOptions } from './refresh.ts';
