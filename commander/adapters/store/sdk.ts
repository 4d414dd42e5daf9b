/** The DynamoDB SDK, loaded with `require` (adapters/require-sdk.ts says why); its own types. */
import type * as Client from '@aws-sdk/client-dynamodb';
import type * as Documents from '@aws-sdk/lib-dynamodb';
import { requireSdk } from '../require-sdk.js';

const client = requireSdk('@aws-sdk/client-dynamodb') as typeof Client;
const documents = requireSdk('@aws-sdk/lib-dynamodb') as typeof Documents;

export const { DynamoDBClient } = client;
export type DynamoDBClient = Client.DynamoDBClient;
export const { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand } =
  documents;
export type DynamoDBDocumentClient = Documents.DynamoDBDocumentClient;
